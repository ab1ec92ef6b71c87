"""Run traces: a span tree per run, exportable to JSONL."""

from .export import load_jsonl, save_jsonl
from .spans import Span, SpanKind
from .tree import Trace

__all__ = ["Span", "SpanKind", "Trace", "load_jsonl", "save_jsonl"]
