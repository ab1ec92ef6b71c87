"""The trace of one run: its span tree (children runs included) and the run's metadata."""

from __future__ import annotations

import itertools
import os
from typing import Any

from .credit import Credit, CreditReport, credit_report
from .export import save_jsonl
from .spans import Span, SpanKind, SpanListener


class Trace:
    """The span tree of one run (children runs included) plus run metadata."""

    def __init__(self, metadata: dict[str, Any] | None = None,
                 listener: SpanListener | None = None) -> None:
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._ids = itertools.count(1)
        self.root: Span | None = None
        self.listener = listener  # told of each span as it starts and ends (live export)

    def start(self, kind: SpanKind, name: str, parent: Span | None = None, **attrs: Any) -> Span:
        span = Span(kind, name, next(self._ids), parent.span_id if parent else None, attrs=attrs)
        if parent is None:
            if self.root is None:
                self.root = span
        else:
            parent.children.append(span)
        if self.listener is not None:
            span.on_end = self.listener.on_end
            self.listener.on_start(span)
        return span

    def spans(self, kind: SpanKind | None = None) -> list[Span]:
        """Every span, or those of one kind, in tree order."""
        if self.root is None:
            return []
        return [s for s in self.root.walk() if kind is None or s.kind == kind]

    def iterations(self) -> list[Span]:
        """The top-level run's iteration spans."""
        return [c for c in self.root.children if c.kind == "iteration"] if self.root else []

    def credit(self) -> list[Credit]:
        """One record per sub-call, child run and code step: did it feed the answer, its share,
        its tokens and cost (see `credit`)."""
        return credit_report(self).records

    def credit_report(self) -> CreditReport:
        """The credit records with the tokens and cost of the steps that fed nothing."""
        return credit_report(self)

    def credit_summary(self) -> list[dict[str, Any]]:
        """One `{step, result, contribution}` per step, in tree order."""
        return credit_report(self).summary()

    def to_dict(self) -> dict[str, Any]:
        return {"metadata": self.metadata, "root": self.root.to_dict() if self.root else None}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write JSONL readable by the reference RLM log viewers (see `export`)."""
        save_jsonl(self, path)

    def __repr__(self) -> str:
        return f"Trace(spans={len(self.spans())}, iterations={len(self.iterations())})"
