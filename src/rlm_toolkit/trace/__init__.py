"""Run traces: a span tree per run, exportable to JSONL."""

from .export import load_jsonl, save_jsonl
from .spans import Span, Trace

__all__ = ["Span", "Trace", "load_jsonl", "save_jsonl"]
