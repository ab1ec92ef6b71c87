"""One benchmark task and its JSONL form."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..providers.base import estimate_tokens

# How an answer is scored (see scoring.py):
#   "needle": the gold number must appear in the answer (RULER's string match)
#   "number": 0.75 ** |gold - answer| (OOLONG)
#   "choice": exact match after normalising, against one of `choices` (OOLONG labels)
#   "pairs":  F1 over the listed (id1, id2) pairs (OOLONG-Pairs)
#   "abstain": the answer is not in the context; right when the answer says so
ANSWER_TYPES = ("needle", "number", "choice", "pairs", "abstain")


@dataclass
class Task:
    """A context, a question about it, the gold answer and the data to check that gold.

    `tokens` is the size the task was generated for; `context_tokens` the estimate
    (characters / 4) of the context actually written. `verify` holds everything needed to
    re-derive `gold` without the generator (needle offsets, the label of every record).
    """

    id: str
    kind: str
    tokens: int
    seed: int
    context: str
    question: str
    gold: Any
    answer_type: str
    choices: list[str] = field(default_factory=list)
    symmetric: bool = True
    verify: dict[str, Any] = field(default_factory=dict)

    @property
    def context_tokens(self) -> int:
        return estimate_tokens(self.context)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["context_tokens"] = self.context_tokens
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        missing = {"id", "kind", "tokens", "seed", "context", "question", "gold",
                   "answer_type"} - set(known)
        if missing:
            raise ConfigError(
                f"task record lacks {', '.join(sorted(missing))}; write task files with "
                "`rlm bench generate`"
            )
        return cls(**known)


def write_tasks(tasks: Iterable[Task], path: str | Path) -> int:
    """Write tasks to a JSONL file (one task a line); returns how many were written."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for task in tasks:
            fh.write(json.dumps(task.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n


def read_tasks(path: str | Path) -> Iterator[Task]:
    """Tasks from a JSONL file written by `write_tasks`."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{lineno}: not valid JSON ({exc})") from None
            yield Task.from_dict(data)
