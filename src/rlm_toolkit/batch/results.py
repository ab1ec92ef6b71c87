"""The results file: one JSON line per finished task, appended as each one ends.

A rerun reads it first and skips the ids already finished; a torn last line (the driver was
killed mid-write) is ended so the next line starts clean, and is otherwise ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from ..errors import ConfigError
from .execute import FINISHED, TaskResult


def finished_ids(path: Path, *, retry_errors: bool = False) -> set[str]:
    """Ids whose last line in `path` is a finished status (errors too, unless retried)."""
    done: dict[str, str] = {}
    if not path.exists():
        return set()
    with path.open(encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            try:
                row = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a torn line from a killed driver
            if isinstance(row, dict) and isinstance(row.get("id"), str):
                done[row["id"]] = str(row.get("status"))
    final = FINISHED - {"error"} if retry_errors else FINISHED
    return {tid for tid, status in done.items() if status in final}


class ResultsWriter:
    """Appends result lines; each is flushed and synced before the task counts as done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ConfigError(f"--out {str(self.path)!r} is a folder: give a .jsonl file path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._end_torn_line()
        self._fh: IO[str] = self.path.open("a", encoding="utf-8")

    def _end_torn_line(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")

    def write(self, result: TaskResult) -> None:
        self._fh.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()
