"""RLMResult: what a run returns, finished or stopped early."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import Limit
from ..providers.base import Usage
from ..trace import Trace

Status = Literal["success", "max_iterations", "timeout", "error", Limit]
"""How a run ended: an answer, a limit of the run, or a budget `Limit` of the tree."""


@dataclass
class RLMResult:
    """The answer and how it was reached. A run stopped by a limit keeps its partial answer."""

    answer: str
    status: Status
    iterations: int
    subcalls: int
    usage: Usage
    cost: float | None
    elapsed_s: float
    trace: Trace
    error: str | None = None
    depth: int = 0
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def __str__(self) -> str:
        return self.answer

    def summary(self) -> dict[str, Any]:
        """The outcome as plain data (no trace)."""
        return {
            "answer": self.answer,
            "status": self.status,
            "iterations": self.iterations,
            "subcalls": self.subcalls,
            "usage": self.usage.to_dict(),
            "cost": self.cost,
            "elapsed_s": round(self.elapsed_s, 3),
            "error": self.error,
            "model": self.model,
        }
