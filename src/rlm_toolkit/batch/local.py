"""The local backend: tasks in a bounded pool of threads in this process."""

from __future__ import annotations

import concurrent.futures as cf

from .execute import RLMFactory, TaskResult
from .ledger import JobLedger
from .tasks import BatchTask
from .worker import work

Outcome = TaskResult | BaseException


class LocalBackend:
    """Up to `concurrency` RLM runs at once, each in a thread with its own event loop."""

    name = "local"

    def __init__(self, factory: RLMFactory, ledger: JobLedger, concurrency: int) -> None:
        self.factory = factory
        self.ledger = ledger
        self.concurrency = max(1, concurrency)
        self._pool = cf.ThreadPoolExecutor(self.concurrency, thread_name_prefix="rlm-batch")

    def submit(self, task: BatchTask) -> cf.Future[TaskResult]:
        return self._pool.submit(work, task, self.factory, self.ledger)

    def wait(self, handles: list[cf.Future[TaskResult]], timeout: float
             ) -> list[tuple[cf.Future[TaskResult], Outcome]]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out: list[tuple[cf.Future[TaskResult], Outcome]] = []
        for fut in done:
            exc = fut.exception()
            out.append((fut, exc if exc is not None else fut.result()))
        return out

    def state(self) -> dict[str, float | int | None]:
        return self.ledger.state()

    def charge_lost(self, task_id: str) -> None:
        self.ledger.charge_lost(task_id)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
