"""The Ray backend: each task is a Ray task running one whole RLM run; the ledger is an actor.

Ray schedules the tasks and retries one whose worker process died (`max_retries`); this
module only keeps a bounded number in flight, so the driver's memory does not grow with the
job. Needs the `[ray]` extra.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from ..errors import ConfigError, MissingDependency
from .execute import RLMFactory, TaskResult
from .ledger import Grant, JobLedger
from .tasks import BatchTask
from .worker import work

Outcome = TaskResult | BaseException


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependency("ray", "ray", "rlm batch --ray") from None
    return ray


def connect(address: str | None) -> bool:
    """Join the Ray cluster at `address` ("local" or None: RAY_ADDRESS, the running cluster,
    or a new one in this process); True when this call started Ray (shut it down after)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    try:
        ray.init(address=None if address in (None, "local") else address,
                 include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {exc}; give its "
                          "address (ray://host:10001 or host:6379) or --ray local") from None
    return True


def remote(fn: Any, *, cpus_per_task: float = 1.0, retries: int = 2) -> Any:
    """`fn` as a Ray task: retried when its worker process dies, not when it raises."""
    return _ray().remote(num_cpus=cpus_per_task, max_retries=retries,
                         retry_exceptions=False)(fn)


class ActorLedger:
    """A worker's view of the ledger actor: each call waits for the actor's answer."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def reserve(self, task_id: str, want_tokens: int | None,
                want_cost: float | None) -> Grant | str:
        ray = _ray()
        answer: Grant | str = ray.get(self.actor.reserve.remote(task_id, want_tokens, want_cost))
        return answer

    def settle(self, task_id: str, tokens: int, cost: float | None) -> None:
        _ray().get(self.actor.settle.remote(task_id, tokens, cost))


def _remote_work(task: BatchTask, factory: RLMFactory, ledger: ActorLedger) -> TaskResult:
    return work(task, factory, ledger)


class RayBackend:
    """Tasks as Ray tasks on the cluster at `address` ("local" starts one in this process;
    None joins the cluster this process is already connected to, or RAY_ADDRESS, or starts
    one)."""

    name = "ray"

    def __init__(self, factory: RLMFactory, limits: dict[str, Any], *,
                 address: str | None = None, concurrency: int | None = None,
                 retries: int = 2, cpus_per_task: float = 1.0) -> None:
        ray = _ray()
        self._started = connect(address)
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        self.concurrency = concurrency or max(1, int(cpus // cpus_per_task))
        share = limits.pop("share", self.concurrency)
        self._actor = ray.remote(num_cpus=0)(JobLedger).remote(share=share, **limits)
        self._ledger = ActorLedger(self._actor)
        self._factory_ref = ray.put(factory)
        self._fn = remote(_remote_work, cpus_per_task=cpus_per_task, retries=retries)
        self._ray = ray

    def submit(self, task: BatchTask) -> Any:
        return self._fn.remote(task, self._factory_ref, self._ledger)

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, Outcome]]:
        ready, _ = self._ray.wait(handles, num_returns=1, timeout=timeout)
        out: list[tuple[Any, Outcome]] = []
        for ref in ready:
            try:
                out.append((ref, self._ray.get(ref)))
            except Exception as exc:  # the worker died on every attempt, or Ray failed it
                out.append((ref, exc))
        return out

    def state(self) -> dict[str, float | int | None]:
        answer: dict[str, float | int | None] = self._ray.get(self._actor.state.remote())
        return answer

    def charge_lost(self, task_id: str) -> None:
        self._ray.get(self._actor.charge_lost.remote(task_id))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ray.kill(self._actor)
        if self._started:
            self._ray.shutdown()
