"""The job's ledger: one token and dollar budget for every run of a batch.

Reserve-then-settle, as the engine does for one run tree: before a task starts it is granted
an allowance (its own limit, or the job's per-task share, never more than what is free), and
the run is capped at that allowance by the engine's own budget; when it ends the grant is
replaced by what the run really used. The sum of open grants and spending never exceeds the
job's limits, so any number of concurrent workers cannot overshoot them together. A grant
whose run was lost (its worker died) is charged in full: what it spent is unknown.

On Ray the same class runs as one actor, so every worker's calls are serialized by it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Grant:
    """A task's allowance: None means that limit is not set for the job or the task."""

    task_id: str
    attempt: int
    tokens: int | None
    cost: float | None


class JobLedger:
    """Limits of the whole job, what is spent, and the grants still open (thread-safe)."""

    def __init__(self, max_tokens: int | None = None, max_cost: float | None = None,
                 share: int = 1, task_tokens: int | None = None,
                 task_cost: float | None = None) -> None:
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.task_tokens = task_tokens
        self.task_cost = task_cost
        self.share = max(1, share)
        self.spent_tokens = 0
        self.spent_cost = 0.0
        self._open: dict[str, Grant] = {}
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()

    # --- the figures ---------------------------------------------------------------------
    def _free(self) -> tuple[float, float]:
        held_t = sum(g.tokens or 0 for g in self._open.values())
        held_c = sum(g.cost or 0.0 for g in self._open.values())
        free_t = float("inf") if self.max_tokens is None else \
            self.max_tokens - self.spent_tokens - held_t
        free_c = float("inf") if self.max_cost is None else \
            self.max_cost - self.spent_cost - held_c
        return free_t, free_c

    def state(self) -> dict[str, float | int | None]:
        """Spent, held by open grants, and the limits."""
        with self._lock:
            free_t, free_c = self._free()
            return {"spent_tokens": self.spent_tokens, "spent_cost": self.spent_cost,
                    "open": len(self._open), "max_tokens": self.max_tokens,
                    "max_cost": self.max_cost,
                    "free_tokens": None if self.max_tokens is None else free_t,
                    "free_cost": None if self.max_cost is None else free_c}

    def exhausted(self) -> bool:
        """True when no new grant can be made even after every open grant settles unused."""
        with self._lock:
            return ((self.max_tokens is not None and self.spent_tokens >= self.max_tokens)
                    or (self.max_cost is not None and self.spent_cost >= self.max_cost))

    # --- reserve and settle --------------------------------------------------------------
    def reserve(self, task_id: str, want_tokens: int | None = None,
                want_cost: float | None = None) -> Grant | str:
        """Grant the task its share (its own want, the job's per-task setting, else the limit
        divided by `share`), or say why not: "busy" (part of the budget is held by running
        tasks; try again after one settles) or "spent" (too little is left for its share).

        A second reserve for a task whose grant is still open is a retry after its worker
        died: the lost attempt's grant is charged in full first.
        """
        with self._lock:
            lost = self._open.pop(task_id, None)
            if lost is not None:
                self.spent_tokens += lost.tokens or 0
                self.spent_cost += lost.cost or 0.0
            if ((self.max_tokens is not None and self.spent_tokens >= self.max_tokens)
                    or (self.max_cost is not None and self.spent_cost >= self.max_cost)):
                return "spent"
            free_t, free_c = self._free()
            share_t = want_tokens or self.task_tokens or (
                None if self.max_tokens is None else max(1, self.max_tokens // self.share))
            share_c = want_cost or self.task_cost or (
                None if self.max_cost is None else self.max_cost / self.share)
            short = (share_t is not None and free_t < share_t) or \
                (share_c is not None and free_c < share_c)
            if short:
                # Running tasks may give back what they do not use; with none running, what
                # is left is too little for this task's share, so it is not started.
                return "busy" if self._open else "spent"
            tokens = share_t
            cost = share_c
            attempt = self._attempts.get(task_id, 0) + 1
            self._attempts[task_id] = attempt
            grant = Grant(task_id, attempt, tokens, cost)
            if self.max_tokens is not None or self.max_cost is not None:
                self._open[task_id] = grant
            return grant

    def settle(self, task_id: str, tokens: int, cost: float | None) -> None:
        """Replace the task's open grant by what its run used (unknown cost: the grant's)."""
        with self._lock:
            grant = self._open.pop(task_id, None)
            self._attempts.pop(task_id, None)
            self.spent_tokens += tokens
            if cost is None:
                cost = grant.cost if grant is not None and grant.cost is not None else 0.0
            self.spent_cost += cost

    def charge_lost(self, task_id: str) -> None:
        """A task given up after its workers died: its open grant counts as spent in full."""
        with self._lock:
            self._attempts.pop(task_id, None)
            grant = self._open.pop(task_id, None)
            if grant is not None:
                self.spent_tokens += grant.tokens or 0
                self.spent_cost += grant.cost or 0.0
