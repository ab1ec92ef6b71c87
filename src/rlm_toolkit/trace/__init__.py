"""Run traces: a span tree per run, exportable to JSONL."""

from .credit import Credit, CreditReport, credit
from .export import load_jsonl, save_jsonl
from .spans import Span, SpanKind
from .tree import Trace

__all__ = [
    "Credit", "CreditReport", "Span", "SpanKind", "Trace", "credit", "load_jsonl", "save_jsonl",
]
