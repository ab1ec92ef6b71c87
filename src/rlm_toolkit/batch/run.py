"""`run_batch`: run many tasks on the local or Ray backend; results as they finish.

    from rlm_toolkit import RLM
    from rlm_toolkit.batch import load_tasks, run_batch
    for result in run_batch(load_tasks("tasks.jsonl"),
                            lambda task: RLM.from_openai("gpt-4o-mini"),
                            backend="ray", out="results.jsonl", max_cost=5.0):
        print(result.id, result.status, result.answer)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

from ..errors import ConfigError
from .execute import RLMFactory, TaskResult, node_name
from .ledger import JobLedger
from .local import LocalBackend
from .progress import BatchProgress
from .results import ResultsWriter, finished_ids
from .tasks import BatchTask, InputProblem

Backend = Literal["local", "ray"]
FAILED = frozenset({"error", "invalid"})


class _Backend(Protocol):
    concurrency: int

    def submit(self, task: BatchTask) -> Any: ...
    def wait(self, handles: list[Any], timeout: float
             ) -> list[tuple[Any, TaskResult | BaseException]]: ...
    def state(self) -> dict[str, float | int | None]: ...
    def charge_lost(self, task_id: str) -> None: ...
    def close(self) -> None: ...


def _backend(backend: str, factory: RLMFactory, limits: dict[str, Any], concurrency: int | None,
             ray_address: str | None, retries: int, cpus_per_task: float) -> _Backend:
    if backend == "local":
        n = concurrency or 4
        return LocalBackend(factory, JobLedger(share=limits.pop("share", n), **limits), n)
    if backend == "ray":
        from .ray_backend import RayBackend

        return RayBackend(factory, limits, address=ray_address, concurrency=concurrency,
                          retries=retries, cpus_per_task=cpus_per_task)
    raise ConfigError(f"backend must be 'local' or 'ray', got {backend!r}")


def run_batch(
    tasks: Iterable[BatchTask | InputProblem],
    rlm_factory: RLMFactory,
    backend: Backend = "local",
    *,
    out: str | Path | None = None,
    max_cost: float | None = None,
    max_tokens: int | None = None,
    task_max_tokens: int | None = None,
    task_max_cost: float | None = None,
    task_share: int | None = None,
    concurrency: int | None = None,
    retries: int = 2,
    retry_errors: bool = False,
    ray_address: str | None = None,
    cpus_per_task: float = 1.0,
    progress: bool = False,
    total: int | None = None,
) -> Iterator[TaskResult]:
    """Run `tasks` (from `load_tasks` or your own `BatchTask`s), yielding each result as it
    finishes; with `out`, each is also appended to that JSONL file, and ids already finished
    there are skipped (resume). `rlm_factory(task)` builds the task's RLM inside the worker.

    `max_cost` / `max_tokens` bound the whole job: each task is granted a share (its own
    `max_tokens`/`max_cost`, else the limit divided by `task_share`, default the concurrency)
    and runs capped at it (`task_max_tokens` / `task_max_cost` set the share for tasks
    without their own); tasks not started once the budget is spent end "skipped".
    `retries`: how often a task whose worker died is tried again before it is an error.
    """
    if max_cost is not None and max_cost <= 0:
        raise ConfigError("max_cost must be a positive number of dollars")
    if max_tokens is not None and max_tokens < 1:
        raise ConfigError("max_tokens must be a positive whole number")
    if concurrency is not None and concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    if retries < 0:
        raise ConfigError("retries must be 0 or more")
    skip = finished_ids(Path(out), retry_errors=retry_errors) if out is not None else set()
    writer = ResultsWriter(out) if out is not None else None
    limits: dict[str, Any] = {"max_cost": max_cost, "max_tokens": max_tokens,
                              "task_tokens": task_max_tokens, "task_cost": task_max_cost}
    if task_share is not None:
        limits["share"] = task_share
    try:
        engine = _backend(backend, rlm_factory, limits, concurrency, ray_address, retries,
                          cpus_per_task)
    except BaseException:
        if writer is not None:
            writer.close()
        raise
    return _results(iter(tasks), engine, skip, writer, retries, backend,
                    BatchProgress(total, enabled=progress))


def _results(tasks: Iterator[BatchTask | InputProblem], engine: _Backend, skip: set[str],
             writer: ResultsWriter | None, retries: int, backend: str,
             bar: BatchProgress) -> Iterator[TaskResult]:
    try:
        yield from _drive(tasks, engine, skip, writer, retries, backend, bar)
    finally:
        engine.close()
        if writer is not None:
            writer.close()


def _drive(tasks: Iterator[BatchTask | InputProblem], engine: _Backend, skip: set[str],
           writer: ResultsWriter | None, retries: int, backend: str,
           bar: BatchProgress) -> Iterator[TaskResult]:
    """Keep up to `concurrency` tasks in flight; record each result as it comes back."""
    running: dict[Any, BatchTask] = {}
    again: deque[BatchTask] = deque()  # tasks that found the budget held by running ones
    local_tries: dict[str, int] = {}
    counts = {"done": 0, "failed": 0, "skipped": 0, "resumed": 0}
    cost = 0.0
    exhausted_src = False
    blocked = False  # a task found the budget held by running ones: wait for one to end

    def record(result: TaskResult) -> TaskResult:
        nonlocal cost
        if writer is not None:
            writer.write(result)
        key = ("failed" if result.status in FAILED else
               "skipped" if result.status == "skipped" else "done")
        counts[key] += 1
        cost += result.cost or 0.0
        bar.update(running=len(running), cost=cost, **counts)
        return result

    def next_task() -> BatchTask | InputProblem | None:
        nonlocal exhausted_src
        if again:
            return again.popleft()
        if exhausted_src:
            return None
        item = next(tasks, None)
        exhausted_src = item is None
        return item

    with bar:
        while True:
            while len(running) < engine.concurrency and not (blocked and running):
                item = next_task()
                if item is None:
                    break
                if isinstance(item, InputProblem):
                    yield record(TaskResult(item.id, "invalid", error=str(item),
                                            line=item.line, node=node_name(), attempts=0))
                    continue
                if item.id in skip:  # finished in an earlier run of this job
                    counts["resumed"] += 1
                    bar.update(running=len(running), cost=cost, **counts)
                    continue
                state = engine.state()
                if _spent(state):
                    yield record(_skipped(item))
                    continue
                if _held(state) and running:
                    again.appendleft(item)
                    blocked = True
                    break
                running[engine.submit(item)] = item
                bar.update(running=len(running), cost=cost, **counts)
            if not running:
                if again and blocked:  # nothing runs now: the ledger grants what is left
                    blocked = False
                    continue
                break
            for handle, outcome in engine.wait(list(running), timeout=0.5):
                task = running.pop(handle)
                if isinstance(outcome, TaskResult):
                    if outcome.status == "busy":
                        again.appendleft(task)
                        blocked = True
                        continue
                    blocked = False
                    yield record(outcome)
                    continue
                # The worker itself died (Ray retried it already) or raised past run_task.
                tries = local_tries.get(task.id, 0) + 1
                local_tries[task.id] = tries
                if backend == "local" and tries <= retries:
                    running[engine.submit(task)] = task
                    continue
                engine.charge_lost(task.id)
                yield record(TaskResult(
                    task.id, "error", attempts=tries if backend == "local" else retries + 1,
                    error=f"the task's worker failed on every attempt ({retries + 1}): "
                          f"{type(outcome).__name__}: {_short(outcome)}",
                    line=task.line, meta=task.meta, node=node_name()))


def _spent(state: dict[str, float | int | None]) -> bool:
    for spent, limit in (("spent_tokens", "max_tokens"), ("spent_cost", "max_cost")):
        cap = state.get(limit)
        if cap is not None and (state.get(spent) or 0) >= cap:
            return True
    return False


def _held(state: dict[str, float | int | None]) -> bool:
    for free in ("free_tokens", "free_cost"):
        value = state.get(free)
        if value is not None and value <= 0:
            return True
    return False


def _skipped(task: BatchTask) -> TaskResult:
    return TaskResult(task.id, "skipped", error="the job's budget was spent before it started",
                      line=task.line, meta=task.meta, attempts=0)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def count_lines(path: str | Path) -> int:
    """Non-blank lines of a file (the progress bar's total), read in blocks."""
    n = 0
    with Path(path).open("rb") as fh:
        for raw in fh:
            n += bool(raw.strip())
    return n


__all__ = ["TaskResult", "count_lines", "run_batch"]
