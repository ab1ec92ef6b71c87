"""The trace: a tree of spans, plain data.

run -> iteration -> code execution / LLM call / child run. The engine writes spans; exporters
and viewers read them. Nothing here knows about providers or the sandbox.
"""

from __future__ import annotations

import itertools
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


class Trace:
    """The span tree of one run (children runs included) plus run metadata."""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._ids = itertools.count(1)
        self.root: Span | None = None

    def start(self, kind: SpanKind, name: str, parent: Span | None = None, **attrs: Any) -> Span:
        span = Span(kind, name, next(self._ids), parent.span_id if parent else None, attrs=attrs)
        if parent is None:
            if self.root is None:
                self.root = span
        else:
            parent.children.append(span)
        return span

    def spans(self, kind: SpanKind | None = None) -> list[Span]:
        """Every span, or those of one kind, in tree order."""
        if self.root is None:
            return []
        return [s for s in self.root.walk() if kind is None or s.kind == kind]

    def iterations(self) -> list[Span]:
        """The top-level run's iteration spans."""
        return [c for c in self.root.children if c.kind == "iteration"] if self.root else []

    def to_dict(self) -> dict[str, Any]:
        return {"metadata": self.metadata, "root": self.root.to_dict() if self.root else None}

    def save(self, path: str) -> None:
        """Write JSONL readable by the reference RLM log viewers (see `export`)."""
        from .export import save_jsonl

        save_jsonl(self, path)

    def __repr__(self) -> str:
        return f"Trace(spans={len(self.spans())}, iterations={len(self.iterations())})"
