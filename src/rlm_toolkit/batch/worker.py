"""What a worker does with one task: take a grant from the ledger, run, settle."""

from __future__ import annotations

from typing import Protocol

from .execute import RLMFactory, TaskResult, node_name, run_task
from .ledger import Grant
from .tasks import BatchTask


class Ledger(Protocol):
    """The job ledger as a worker sees it: in this process, or a Ray actor behind a client."""

    def reserve(self, task_id: str, want_tokens: int | None,
                want_cost: float | None) -> Grant | str: ...

    def settle(self, task_id: str, tokens: int, cost: float | None) -> None: ...


def work(task: BatchTask, factory: RLMFactory, ledger: Ledger) -> TaskResult:
    """Reserve, run and settle one task. Returns status "skipped" when the job's budget is
    spent, "busy" when what is left is held by running tasks (the driver tries it later)."""
    want_t = task.limits.get("max_tokens")
    want_c = task.limits.get("max_cost")
    grant = ledger.reserve(task.id, int(want_t) if want_t else None,
                           float(want_c) if want_c else None)
    if isinstance(grant, str):
        status = "skipped" if grant == "spent" else "busy"
        return TaskResult(task.id, status, error="the job's budget was spent before it started"
                          if status == "skipped" else None, cost=0.0, node=node_name(),
                          line=task.line, meta=task.meta)
    result = run_task(task, factory, grant)
    ledger.settle(task.id, result.tokens, result.cost)
    return result
