"""The trace viewer: one self-contained HTML page per run, and a terminal tree."""

from .html import render_html, write_html
from .model import Node, NodeCredit, ViewData
from .sources import from_jsonl, from_trace

__all__ = ["Node", "NodeCredit", "ViewData", "from_jsonl", "from_trace", "render_html",
           "write_html"]
