"""Spans: one timed step each, nested into a tree, plain data.

run -> iteration -> code execution / LLM call / child run. The engine writes spans; exporters
and viewers read them. Nothing here knows about providers or the sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

SpanKind = Literal["run", "iteration", "root_llm", "code", "llm", "child_run", "final", "tool"]


class SpanListener(Protocol):
    """Told when a span starts and when it ends (a live exporter: see `otel`).

    Called on the run's own thread; it must return at once and never raise.
    """

    def on_start(self, span: Span) -> None: ...

    def on_end(self, span: Span) -> None: ...


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
    on_end: Callable[[Span], None] | None = field(default=None, repr=False, compare=False)

    @property
    def duration_s(self) -> float:
        return (self.end or time.time()) - self.start

    def finish(self, *, error: str | None = None, **attrs: Any) -> None:
        self.end = time.time()
        if error is not None:
            self.error = error
        self.attrs.update(attrs)
        if self.on_end is not None:
            self.on_end(self)

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
