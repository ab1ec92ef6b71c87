"""What the batch tests share: a scripted OpenAI-compatible server answering by task number,
a factory that can poison a task, and the tasks file."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlm_toolkit.batch import BatchTask
from rlm_toolkit.batch.factory import ModelFactory
from rlm_toolkit.engine import RLM
from rlm_toolkit.testing.servers import OpenAIServer
from rlm_toolkit.testing.servers._base import estimate

ASK = re.compile(r"ask-(\d+)")


class TaskServer:
    """Replies FINAL(answer-N) to the query "ask-N"; counts requests and tokens per task.

    `slow`: task numbers whose first reply waits that many seconds. `wait_for`: task number
    -> (results file, id): its first reply waits (at most 60 s) until that id has a result
    line, so the finishing order differs from the file's. `kill_once`: a task number whose first request kills the worker
    process whose pid is in `pid_dir/<N>.pid`, from this process (the host's side).
    """

    def __init__(self, *, slow: dict[int, float] | None = None, kill_once: int | None = None,
                 pid_dir: Path | None = None, latency_s: float = 0.0,
                 wait_for: dict[int, tuple[Path, str]] | None = None) -> None:
        self.wait_for = wait_for or {}
        self.slow = slow or {}
        self.kill_once = kill_once
        self.pid_dir = pid_dir
        self.asked: Counter[int] = Counter()
        self.tokens = 0
        self.killed: list[int] = []
        self._lock = threading.Lock()
        self.server = OpenAIServer(self.reply, latency_s=latency_s)

    def reply(self, body: dict[str, Any]) -> str:
        prompt = self.server.prompt_text(body)
        found = ASK.findall(prompt)
        n = int(found[-1]) if found else -1
        with self._lock:
            self.asked[n] += 1
            first = self.asked[n] == 1
        if first and n == self.kill_once and self.pid_dir is not None:
            pid = int((self.pid_dir / f"{n}.pid").read_text())
            os.kill(pid, signal.SIGKILL)
            self.killed.append(pid)
            time.sleep(0.2)
        if first and n in self.wait_for:
            path, tid = self.wait_for[n]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                    path.exists() and f'"id": "{tid}"' in path.read_text()):
                time.sleep(0.02)
        if first and n in self.slow:
            time.sleep(self.slow[n])
        text = f"FINAL(answer-{n})"
        with self._lock:
            self.tokens += estimate(prompt) + estimate(text)
        return text

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def __enter__(self) -> TaskServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


@dataclass(frozen=True)
class PoisonFactory(ModelFactory):
    """A task with meta {"poison": "raise"} fails in the worker every time; "kill" kills its
    worker process every time; a task with meta {"pid_dir": ...} writes its worker's pid."""

    def __call__(self, task: BatchTask) -> RLM:
        pid_dir = task.meta.get("pid_dir")
        if pid_dir:
            Path(pid_dir, f"{task.id.split('-')[-1]}.pid").write_text(str(os.getpid()))
        poison = task.meta.get("poison")
        if poison == "raise":
            raise RuntimeError(f"task {task.id} is poisoned")
        if poison == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(task)


def task_lines(n: int, **meta_by_task: dict[str, Any]) -> list[str]:
    """n task lines "t-<i>" asking "ask-<i>" over a short text."""
    out = []
    for i in range(n):
        row: dict[str, Any] = {"id": f"t-{i}", "query": f"ask-{i}", "context": f"text {i}"}
        if f"t{i}" in meta_by_task:
            row["meta"] = meta_by_task[f"t{i}"]
        out.append(json.dumps(row))
    return out


def read_results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
