"""Spans: one timed step each, nested into a tree, plain data.

run -> iteration -> code execution / LLM call / child run. The engine writes spans; exporters
and viewers read them. Nothing here knows about providers or the sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

SpanKind = Literal["run", "iteration", "root_llm", "code", "llm", "child_run", "final"]


@dataclass
class Span:
    """One timed step. `attrs` holds what the step saw and produced (code, output, tokens...)."""

    kind: SpanKind
    name: str
    span_id: int
    parent_id: int | None = None
    start: float = field(default_factory=time.time)
    end: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    children: list[Span] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return (self.end or time.time()) - self.start

    def finish(self, *, error: str | None = None, **attrs: Any) -> None:
        self.end = time.time()
        if error is not None:
            self.error = error
        self.attrs.update(attrs)

    def walk(self) -> Iterator[Span]:
        """This span and every descendant, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "start": self.start,
            "end": self.end,
            "duration_s": round(self.duration_s, 6),
            "attrs": self.attrs,
            "error": self.error,
            "children": [c.to_dict() for c in self.children],
        }
