"""One task, run to the end inside whichever worker holds it: the RLM run and its result line."""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engine import RLM
from .ledger import Grant
from .tasks import BatchTask

RLMFactory = Callable[[BatchTask], RLM]

#: statuses that end a task for good (a rerun skips them); "error" only without retry_errors.
FINISHED = frozenset({"success", "max_iterations", "timeout", "max_tokens", "max_cost",
                      "max_subcalls", "error"})


@dataclass
class TaskResult:
    """One line of the results file.

    status: the run's status ("success", "max_iterations", "timeout", "error", a budget
    limit), or "skipped" (the job's budget was spent before it started) or "invalid" (its
    line could not be read; `line` says which).
    """

    id: str | None
    status: str
    answer: str = ""
    error: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    cost: float | None = 0.0
    elapsed_s: float = 0.0
    node: str = ""
    attempts: int = 1
    line: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return int(self.usage.get("total_tokens", 0))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def node_name() -> str:
    """Where a task ran: the Ray node's IP, id and worker pid, or this host and pid."""
    try:
        import ray

        if ray.is_initialized():
            node_id = ray.get_runtime_context().get_node_id()[:8]
            return f"{ray.util.get_node_ip_address()}/{node_id}/pid{os.getpid()}"
    except ImportError:
        pass
    return f"{socket.gethostname()}/pid{os.getpid()}"


def run_task(task: BatchTask, factory: RLMFactory, grant: Grant | None) -> TaskResult:
    """Run one task with its grant as the run's budget; any failure becomes an error result."""
    began = time.perf_counter()
    attempt = grant.attempt if grant is not None else 1
    try:
        rlm = factory(task)
        limits = dict(task.limits)
        if grant is not None and grant.tokens is not None:
            limits["max_tokens"] = grant.tokens
        if grant is not None and grant.cost is not None:
            limits["max_cost"] = grant.cost
        config = dataclasses.replace(rlm.config, **limits)
        result = rlm.run(task.load_context(), task.query, config=config)
    except Exception as exc:  # a poisoned task: recorded, never blocks the rest
        return TaskResult(task.id, "error", error=f"{type(exc).__name__}: {exc}",
                          elapsed_s=time.perf_counter() - began, node=node_name(),
                          attempts=attempt, line=task.line, meta=task.meta)
    return TaskResult(task.id, result.status, answer=result.answer, error=result.error,
                      usage=result.usage.to_dict(), cost=result.cost,
                      elapsed_s=time.perf_counter() - began, node=node_name(),
                      attempts=attempt, line=task.line, meta=task.meta)
