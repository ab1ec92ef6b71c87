"""RLMResult: what a run returns, finished or stopped early."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import Limit
from ..providers.base import Usage
from ..trace import Trace
from .citations import Citation
from .grounding import Verdict

Status = Literal["success", "max_iterations", "timeout", "error", "invalid_output", Limit]
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
    citations: list[Citation] = field(default_factory=list)
    grounded: bool | None = None
    found: bool = True
    verdict: Verdict | None = None
    evidence_code: str = ""
    output: Any = None
    """The validated typed value when the run was given `output=` (None otherwise, and when
    the answer did not match: then `status` is "invalid_output" and `answer` the raw text)."""
    egress: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def unverified(self) -> bool:
        """True when the answer failed its checks: a bad citation or the verifier's verdict."""
        return self.grounded is False

    def __str__(self) -> str:
        if self.unverified:
            why = self.verdict.reason if self.verdict else "a citation does not match the data"
            return f"{self.answer}\n[unverified: {why}]"
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
            "grounded": self.grounded,
            "found": self.found,
            "citations": [c.to_dict() for c in self.citations],
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "egress": self.egress,
            **({"output": _plain(self.output)} if self.output is not None else {}),
        }


def _plain(value: Any) -> Any:
    """A typed output as JSON data: a Pydantic model dumped, a dataclass as a dict."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value
