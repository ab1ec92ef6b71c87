"""One budget for the whole tree of runs: tokens, dollars and sub-calls.

Every call reserves its estimated share before it starts, and settles with the real figures
after, so concurrent children cannot overshoot the limit together. All bookkeeping happens in
one event loop without awaiting in between, so no lock is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import BudgetExceeded, Limit
from ..providers.base import Usage


@dataclass
class Reservation:
    tokens: int
    cost: float
    subcall: bool
    open: bool = True


@dataclass
class Budget:
    """Limits (None means unlimited) and what has been spent and reserved so far."""

    max_tokens: int | None = None
    max_cost: float | None = None
    max_subcalls: int | None = None
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    cost_known: bool = True
    subcalls: int = 0
    reserved_tokens: int = 0
    reserved_cost: float = 0.0
    reserved_subcalls: int = 0
    max_call_cost: float = 0.0
    exhausted: Limit | None = None  #: the first limit hit, None while all hold

    def reserve(self, est_tokens: int, *, subcall: bool = False) -> Reservation:
        """Claim room for one call, or raise BudgetExceeded naming the limit."""
        calls = self.subcalls + self.reserved_subcalls + 1
        if subcall and self.max_subcalls is not None and calls > self.max_subcalls:
            self._hit("max_subcalls", f"the run reached max_subcalls={self.max_subcalls}")
        tokens = self.usage.total_tokens + self.reserved_tokens + est_tokens
        if self.max_tokens is not None and tokens > self.max_tokens:
            self._hit(
                    "max_tokens",
                    f"a call of about {est_tokens:,} tokens would go over max_tokens="
                    f"{self.max_tokens:,} ({self.usage.total_tokens:,} used)",
                )
        est_cost = self.max_call_cost
        if self.max_cost is not None and self.cost + self.reserved_cost + est_cost > self.max_cost:
            self._hit("max_cost", f"the run reached max_cost=${self.max_cost:g} (${self.cost:.4f} spent)")
        self.reserved_tokens += est_tokens
        self.reserved_cost += est_cost
        self.reserved_subcalls += int(subcall)
        return Reservation(est_tokens, est_cost, subcall)

    def settle(self, r: Reservation, usage: Usage | None, cost: float | None) -> None:
        """Replace a reservation with what the call really used (None usage: it failed)."""
        if not r.open:
            return
        r.open = False
        self.reserved_tokens -= r.tokens
        self.reserved_cost -= r.cost
        self.reserved_subcalls -= int(r.subcall)
        if usage is None:
            return
        self.usage.add(usage)
        self.subcalls += int(r.subcall)
        if cost is None:
            self.cost_known = False
        else:
            self.cost += cost
            self.max_call_cost = max(self.max_call_cost, cost)
        if self.max_tokens is not None and self.usage.total_tokens >= self.max_tokens:
            self.exhausted = self.exhausted or "max_tokens"
        if self.max_cost is not None and self.cost >= self.max_cost:
            self.exhausted = self.exhausted or "max_cost"

    def _hit(self, limit: Limit, message: str) -> None:
        self.exhausted = self.exhausted or limit
        raise BudgetExceeded(limit, message)

    @property
    def total_cost(self) -> float | None:
        """Dollars spent, or None when some call's price was unknown."""
        return self.cost if self.cost_known else None
