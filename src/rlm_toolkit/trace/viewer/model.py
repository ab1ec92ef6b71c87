"""The viewer's data: a run's span tree flattened into plain nodes, with credit and totals.

Both a live `Trace` and the lines of a saved JSONL file become the same `ViewData`: a list of
nodes in tree order (each with its parent's index), times relative to the run's start, the
run's outcome, the credit of each node when the trace carries it, and the run's egress audit
(what each provider was sent: counts only). The HTML page and the terminal tree both read this,
never the raw spans.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: A text shown in a node (code, output, prompt, reply) is cut to this many characters.
TEXT_LIMIT = 4_000
#: Each message of a root call's prompt is cut to this many characters.
MESSAGE_LIMIT = 1_500

KIND_LABELS: dict[str, str] = {
    "run": "run", "iteration": "iteration", "root_llm": "root call", "code": "code step",
    "llm": "sub-call", "child_run": "child run", "final": "answer now",
}


@dataclass
class NodeCredit:
    """Whether a node's output fed the final answer, and its share of it (0..1)."""

    contributed: bool
    share: float
    tokens: int = 0
    cost: float = 0.0
    method: str | None = None


@dataclass
class Node:
    """One span as the viewer shows it."""

    index: int
    parent: int  # the parent's index, -1 for the top run
    depth: int
    kind: str
    label: str
    span_id: int | None
    start: float  # seconds after the run's start
    duration: float | None
    tokens: int | None
    cost: float | None
    error: str | None
    sections: list[tuple[str, str]] = field(default_factory=list)
    credit: NodeCredit | None = None
    children: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The compact form the page reads (short keys keep 2,000-node pages small)."""
        out: dict[str, Any] = {
            "p": self.parent, "k": self.kind, "n": self.label, "s": round(self.start, 6),
            "d": None if self.duration is None else round(self.duration, 6),
        }
        if self.span_id is not None:
            out["id"] = self.span_id
        if self.tokens is not None:
            out["t"] = self.tokens
        if self.cost is not None:
            out["c"] = self.cost
        if self.error:
            out["e"] = self.error
        if self.sections:
            out["x"] = [list(s) for s in self.sections]
        if self.credit is not None:
            out["cr"] = [self.credit.contributed, round(self.credit.share, 4)]
        return out


@dataclass
class ViewData:
    """Everything the viewer shows of one run."""

    nodes: list[Node]
    answer: str | None
    status: str | None
    error: str | None
    query: str | None
    metadata: dict[str, Any]
    tokens: int | None
    cost: float | None
    duration: float | None
    has_credit: bool
    wasted_tokens: int
    wasted_cost: float
    egress: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "egress": self.egress,
            "answer": self.answer, "status": self.status, "error": self.error,
            "query": self.query, "tokens": self.tokens, "cost": self.cost,
            "duration": self.duration, "has_credit": self.has_credit,
            "wasted_tokens": self.wasted_tokens, "wasted_cost": self.wasted_cost,
            "meta": {k: v for k, v in self.metadata.items()
                     if k in ("root_model", "sub_model", "environment_type", "timestamp",
                              "max_depth", "max_iterations")},
            "nodes": [n.to_json() for n in self.nodes],
        }


# --- reading a span tree ------------------------------------------------------------------


def cut(text: Any, limit: int = TEXT_LIMIT) -> str:
    """`text` as a string of at most `limit` characters, saying how much was cut."""
    s = text if isinstance(text, str) else _show(text)
    if len(s) <= limit:
        return s
    return f"{s[:limit]}\n… (cut: {len(s) - limit:,} more characters)"


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return "\n".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _tokens(attrs: Mapping[str, Any]) -> int | None:
    usage = attrs.get("usage")
    if not isinstance(usage, Mapping):
        return None
    total = usage.get("total_tokens")
    if isinstance(total, int) and not isinstance(total, bool):
        return total
    parts = [usage.get("input_tokens"), usage.get("output_tokens")]
    nums = [p for p in parts if isinstance(p, int) and not isinstance(p, bool)]
    return sum(nums) if nums else None


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def _messages(prompt: Any) -> str:
    if not isinstance(prompt, list):
        return cut(prompt)
    parts = []
    for m in prompt:
        if isinstance(m, Mapping):
            parts.append(f"[{m.get('role', '?')}]\n{cut(m.get('content', ''), MESSAGE_LIMIT)}")
        else:
            parts.append(cut(m, MESSAGE_LIMIT))
    return "\n\n".join(parts)


def _sections(span: Mapping[str, Any], parent: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The texts a node shows, by kind: code and output, prompt and reply, query and answer."""
    a: Mapping[str, Any] = span.get("attrs") or {}
    kind = span.get("kind")
    pairs: list[tuple[str, Any]] = []
    if kind == "run":
        pairs = [("query", a.get("query")), ("context", a.get("context")),
                 ("answer", a.get("answer"))]
    elif kind == "iteration":
        pairs = [("final answer", a.get("final_answer"))]
    elif kind == "root_llm":
        pa: Mapping[str, Any] = (parent or {}).get("attrs") or {}
        prompt = a.get("prompt", pa.get("prompt"))
        pairs = [("reply", a.get("response", pa.get("response"))),
                 ("prompt", _messages(prompt) if prompt else None)]
    elif kind == "code":
        pairs = [("code", a.get("code")), ("output", a.get("stdout")),
                 ("stderr", a.get("stderr"))]
    elif kind == "llm":
        pairs = [("prompt", a.get("prompt")), ("reply", a.get("response"))]
    elif kind == "child_run":
        pairs = [("query", a.get("query")), ("answer", a.get("answer")),
                 ("status", a.get("status"))]
    elif kind == "final":
        pairs = [("reply", a.get("response")), ("final answer", a.get("final_answer"))]
    return [(name, cut(value)) for name, value in pairs if value not in (None, "", [], {})]


def _label(span: Mapping[str, Any]) -> str:
    """What tells this node from its siblings (the page shows the kind beside it)."""
    kind = str(span.get("kind", "?"))
    a: Mapping[str, Any] = span.get("attrs") or {}
    if kind in ("llm", "root_llm"):
        return str(a.get("model") or "")
    if kind == "run":
        return f"depth {a.get('depth', 0)}"
    if kind == "code":
        first = next((ln for ln in str(a.get("code", "")).splitlines() if ln.strip()), "")
        return first.strip()[:100]
    if kind == "child_run":
        return " ".join(str(a.get("query", "")).split())[:100]
    if kind == "iteration":
        return str(span.get("name") or "").replace("iteration", "").strip()
    return "" if span.get("name") == KIND_LABELS.get(kind) else str(span.get("name") or "")


# --- egress -----------------------------------------------------------------------------

_AUDIT_COUNTS = ("requests", "chars_sent", "context_chars_sent", "context_ranges_total",
                 "refused", "withheld_chars")


def _count(value: Any) -> int:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else 0


def _kinds(value: Any) -> dict[str, int]:
    """Redaction counts by kind ("EMAIL": 3): the audit holds kinds and counts, never values."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k)[:40]: _count(n) for k, n in value.items()}


def egress_of(audit: Any) -> dict[str, Any] | None:
    """The run's egress audit (`result.egress`) as the page shows it, or None without one.

    Only the policy, provider names, counts and coverage are kept: a hand-edited trace cannot
    bring anything else (a context range list, a value) into the page.
    """
    if not isinstance(audit, Mapping) or not isinstance(audit.get("providers"), Mapping):
        return None
    providers = []
    for name, p in audit["providers"].items():
        if not isinstance(p, Mapping):
            continue
        row: dict[str, Any] = {"name": str(name), "local": p.get("local") is True}
        row.update({k: _count(p.get(k)) for k in _AUDIT_COUNTS})
        coverage = _number(p.get("coverage"))
        row["coverage"] = None if coverage is None else min(max(coverage, 0.0), 1.0)
        row["redactions"] = _kinds(p.get("redactions"))
        providers.append(row)
    return {"policy": str(audit.get("policy") or "?"),
            "context_chars": _count(audit.get("context_chars")),
            "redactions": _kinds(audit.get("redactions")), "providers": providers}


# --- credit -----------------------------------------------------------------------------


def _credit_of(record: Any) -> tuple[int | None, NodeCredit] | None:
    """(span_id, credit) from a `Credit` record or its dict form; None for anything else."""
    get = record.get if isinstance(record, Mapping) else (lambda k, d=None: getattr(record, k, d))
    span_id, contributed = get("span_id"), get("contributed")
    # A child run's or a code step's badge shows what flowed through it (its steps' too).
    share = get("share_total") if _number(get("share_total")) is not None else get("share")
    if not isinstance(contributed, bool):
        return None
    sid = span_id if isinstance(span_id, int) and not isinstance(span_id, bool) else None
    return sid, NodeCredit(
        contributed=contributed,
        share=_number(share) or 0.0,
        tokens=int(_number(get("tokens")) or 0),
        cost=_number(get("cost")) or 0.0,
        method=str(get("method")) if get("method") is not None else None,
    )


def credits_from(records: Iterable[Any]) -> dict[int, NodeCredit]:
    """Credit records keyed by span id (records without a usable id are skipped)."""
    out: dict[int, NodeCredit] = {}
    for record in records:
        parsed = _credit_of(record)
        if parsed is not None and parsed[0] is not None:
            out[parsed[0]] = parsed[1]
    return out


# --- building ---------------------------------------------------------------------------


def build(root: Mapping[str, Any], metadata: Mapping[str, Any] | None = None,
          credits: Mapping[int, NodeCredit] | None = None,
          outcome: Mapping[str, Any] | None = None,
          wasted: tuple[int, float] | None = None) -> ViewData:
    """A `ViewData` from a span tree in `Span.to_dict()` form.

    `wasted` is the (tokens, cost) spent on steps that fed nothing, as the credit assignment
    counted it; without it, the tokens and cost of the records that did not contribute add up.
    """
    credits = dict(credits or {})
    t0 = _number(root.get("start")) or 0.0
    nodes: list[Node] = []
    stack: list[tuple[Mapping[str, Any], int, int, Mapping[str, Any] | None]] = [
        (root, -1, 0, None)]
    while stack:
        span, parent, depth, parent_span = stack.pop()
        a: Mapping[str, Any] = span.get("attrs") or {}
        start, end = _number(span.get("start")), _number(span.get("end"))
        duration = _number(span.get("duration_s"))
        if start is not None and end is not None:
            duration = end - start
        sid = span.get("span_id")
        span_id = sid if isinstance(sid, int) and not isinstance(sid, bool) else None
        credit = credits.get(span_id) if span_id is not None else None
        if credit is None:
            inline = span.get("credit", a.get("credit"))
            parsed = _credit_of(inline) if inline is not None else None
            credit = parsed[1] if parsed else None
        node = Node(
            index=len(nodes), parent=parent, depth=depth, kind=str(span.get("kind", "?")),
            label=_label(span), span_id=span_id,
            start=(start - t0) if start is not None else 0.0, duration=duration,
            tokens=_tokens(a), cost=_number(a.get("cost")),
            error=str(span["error"]) if span.get("error") else None,
            sections=_sections(span, parent_span), credit=credit,
        )
        nodes.append(node)
        if parent >= 0:
            nodes[parent].children.append(node.index)
        kids = span.get("children") or []
        for child in reversed([c for c in kids if isinstance(c, Mapping)]):
            stack.append((child, node.index, depth + 1, span))
    ra: Mapping[str, Any] = dict(root.get("attrs") or {})
    if outcome:
        ra = {**ra, **outcome}
    judged = [n.credit for n in nodes if n.credit is not None]
    unused = [c for c in judged if not c.contributed]
    wasted_total = wasted
    duration = nodes[0].duration if nodes else None
    return ViewData(
        nodes=nodes,
        answer=None if ra.get("answer") is None else str(ra.get("answer")),
        status=None if ra.get("status") is None else str(ra.get("status")),
        error=str(ra.get("error") or root.get("error") or "") or None,
        query=None if ra.get("query") is None else str(ra.get("query")),
        metadata=dict(metadata or {}),
        tokens=_tokens(ra), cost=_number(ra.get("cost")), duration=duration,
        has_credit=bool(judged),
        wasted_tokens=wasted_total[0] if wasted_total else sum(c.tokens for c in unused),
        wasted_cost=wasted_total[1] if wasted_total else sum(c.cost for c in unused),
        egress=egress_of(ra.get("egress")),
    )
