"""Credit assignment: which steps of a run fed its final answer, and what the rest cost.

Every sub-call (`llm`), child run (`child_run`) and code step (`code`) gets one `Credit`
record: whether its output flowed into the final answer, its share of the answer (0..1) and
the tokens and cost it spent.

How the flow is known, best first (the record's `method` says which decided):

- "value": the REPL followed the sub-call's result object into the value given to FINAL /
  FINAL_VAR / `answer` (through lists, dicts, tuples, sets);
- "text": the REPL found runs of the result's words in the final text, as when results were
  sliced, joined or formatted into it (`coverage`); words several results share are split
  between them;
- "overlap": no report from the REPL (the answer was written as text, or came from the last
  "answer now" call): the same text test on the host, over the trace's (cut) texts: a guess;
- for code steps: "final" (gave the final answer), "variable" (assigned a variable that fed
  it), "call" (made a sub-call or child run that fed it), "output" (its printed output holds
  the answer's text, in the fallback).

Shares: an answer's characters are split between the results that account for them; what no
result accounts for (the code's own text, formatting) goes to the contributing code steps in
equal parts. A child run's share is split the same way among its own steps, through the
child's own answer. `share` is a record's own part: over all records the shares of the steps
that fed the answer add up to 1. `share_total` adds what flowed through the step's children
(a child run's steps, a code step's sub-calls).

Wasted tokens and cost: sub-calls that did not contribute, and every call of a child run that
did not.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from .spans import Span

STEP_KINDS = ("llm", "child_run", "code")
MODEL_CALL_KINDS = ("llm", "root_llm")
RESULT_CHARS = 200
#: Characters of a text compared with the answer.
MAX_TEXT = 200_000
_WORD = re.compile(r"\w+")


class HasRoot(Protocol):
    """What credit reads of a trace: its root span (see `tree.Trace`)."""

    root: Span | None


@dataclass(frozen=True)
class Credit:
    """How one step fed the final answer. See the module docstring for the fields' meaning."""

    span_id: int
    kind: str
    contributed: bool
    share: float
    tokens: int
    cost: float
    method: str = ""
    share_total: float = 0.0
    parent_id: int | None = None
    step: str = ""
    result: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CreditReport:
    """Every step's record, and the tokens and cost of the steps that fed nothing."""

    records: list[Credit] = field(default_factory=list)
    wasted_tokens: int = 0
    wasted_cost: float = 0.0

    def summary(self) -> list[dict[str, Any]]:
        """The seed's shape: one `{step, result, contribution}` per step, in tree order."""
        return [{"step": r.step, "result": r.result, "contribution": round(r.share_total, 4)}
                for r in self.records]

    def to_dict(self) -> dict[str, Any]:
        return {"records": [r.to_dict() for r in self.records],
                "wasted_tokens": self.wasted_tokens, "wasted_cost": round(self.wasted_cost, 8),
                "summary": self.summary()}


def credit(trace: HasRoot) -> list[Credit]:
    """One `Credit` per sub-call, child run and code step of the trace, in tree order."""
    return credit_report(trace).records


def credit_report(trace: HasRoot) -> CreditReport:
    """The credit records with the wasted tokens and cost."""
    root = trace.root
    if root is None:
        return CreditReport()
    shares: dict[int, float] = {}
    methods: dict[int, str] = {}
    if root.kind == "run":
        _credit_run(root, 1.0, shares, methods)
    parents = {c.span_id: s for s in root.walk() for c in s.children}
    totals = _inclusive(root, shares)
    records: list[Credit] = []
    for span in root.walk():
        if span.kind not in STEP_KINDS:
            continue
        contributed = span.span_id in methods
        tokens, cost = _spent(span)
        records.append(Credit(
            span_id=span.span_id, kind=span.kind, contributed=contributed,
            share=round(shares.get(span.span_id, 0.0), 6), tokens=tokens, cost=cost,
            method=methods.get(span.span_id, ""),
            share_total=round(totals.get(span.span_id, 0.0), 6), parent_id=span.parent_id,
            step=_label(span, parents), result=_result_text(span),
        ))
    wasted_tokens, wasted_cost = _wasted(root, methods, parents)
    return CreditReport(records, wasted_tokens, wasted_cost)


# --- the flow, run by run ------------------------------------------------------------------
def _steps_of(run: Span) -> list[Span]:
    """The run's code steps, sub-calls and child runs, not descending into child runs."""
    out: list[Span] = []
    stack = list(reversed(run.children))
    while stack:
        span = stack.pop()
        if span.kind in STEP_KINDS:
            out.append(span)
        if span.kind != "child_run":
            stack.extend(reversed(span.children))
    return out


def _credit_run(run: Span, weight: float, shares: dict[int, float],
                methods: dict[int, str]) -> None:
    """Give `weight` of the answer of `run` to the steps that fed it (recursing into children)."""
    answer = run.attrs.get("answer")
    if not isinstance(answer, str) or not answer.strip() or weight <= 0:
        return
    steps = _steps_of(run)
    by_id = {s.span_id: s for s in steps}
    flow = _final_flow(steps, answer)
    found: dict[int, float] = {}
    how: dict[int, str] = {}
    coders: dict[int, str] = {}
    if flow is not None:
        final_step, report = flow
        coders[final_step.span_id] = "final"
        for entry in report.get("results", []):
            sid = entry.get("span_id")
            if sid in by_id and by_id[sid].kind in ("llm", "child_run"):
                found[sid] = found.get(sid, 0.0) + float(entry.get("chars", 0.0))
                how[sid] = str(entry.get("method", "value"))
        for sid in report.get("steps", []):
            if sid in by_id and sid not in coders:
                coders[sid] = "variable"
    else:
        texts = {s.span_id: [_result_text(s, None)] for s in steps
                 if s.kind in ("llm", "child_run")}
        found, _ = coverage(texts, answer)
        how = dict.fromkeys(found, "overlap")
        outputs = {s.span_id: [str(s.attrs.get("stdout", ""))] for s in steps if s.kind == "code"}
        for sid in coverage(outputs, answer)[0]:
            coders[sid] = "output"
    found = {sid: chars for sid, chars in found.items() if chars > 0}
    for sid in found:
        methods[sid] = how[sid]
        parent = by_id[sid].parent_id
        if parent in by_id and parent not in coders:
            coders[parent] = "call"
    total_chars = max(float(flow[1].get("chars", 0)) if flow else coverage({}, answer)[1], 1.0)
    accounted = sum(found.values())
    scale = 1.0 if accounted <= total_chars else total_chars / accounted
    used = 0.0
    for sid, chars in found.items():
        part = weight * chars * scale / total_chars
        used += part
        shares[sid] = shares.get(sid, 0.0) + part
    rest = max(0.0, weight - used)
    for sid, why in coders.items():
        methods.setdefault(sid, why)
    if coders:
        for sid in coders:
            shares[sid] = shares.get(sid, 0.0) + rest / len(coders)
    elif found and used > 0:  # nothing else fed it: the results carry the whole answer
        for sid in found:
            shares[sid] *= weight / used
    for sid in found:
        span = by_id[sid]
        if span.kind == "child_run":
            inner = next((c for c in span.children if c.kind == "run"), None)
            if inner is not None:
                before = sum(shares.values())
                _credit_run(inner, shares[sid], shares, methods)
                shares[sid] -= sum(shares.values()) - before  # its own part is what is left


def _final_flow(steps: list[Span], answer: str) -> tuple[Span, dict[str, Any]] | None:
    """The last code step whose REPL flow report is about this answer."""
    digest = final_hash(answer)
    for span in reversed(steps):
        report = span.attrs.get("flow")
        if span.kind == "code" and isinstance(report, dict) and report.get("hash") == digest:
            return span, report
    return None


def final_hash(text: str) -> str:
    """The fingerprint the REPL sends with its flow report (sha1 of the text, 16 hex digits)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def coverage(texts: dict[int, list[str]], final: str) -> tuple[dict[int, float], int]:
    """Characters of `final` each key's texts account for, and the characters counted in all.

    Counted in word characters. A text claims the words of `final` it shares a run of three
    words with (a text under three words: its words in sequence). A word claimed by n keys
    counts 1/n for each, so a part every result has (boilerplate) says little. The REPL's
    worker does the same with each result and the pieces derived from it.
    """
    words = [(m.end() - m.start(), m.group().lower()) for m in _WORD.finditer(final[:MAX_TEXT])]
    total = sum(size for size, _ in words)
    grams: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(words) - 2):
        grams.setdefault((words[i][1], words[i + 1][1], words[i + 2][1]), []).append(i)
    starts: dict[str, list[int]] = {}
    for i, (_, word) in enumerate(words):
        starts.setdefault(word, []).append(i)
    claims: dict[int, set[int]] = {}
    for key, several in texts.items():
        got: set[int] = set()
        for text in several:
            own = [m.group().lower() for m in _WORD.finditer(text[:MAX_TEXT])]
            if len(own) >= 3:
                for j in range(len(own) - 2):
                    for i in grams.get((own[j], own[j + 1], own[j + 2]), ()):
                        got.update((i, i + 1, i + 2))
            elif own:
                n = len(own)
                for i in starts.get(own[0], ()):
                    if [w for _, w in words[i:i + n]] == own:
                        got.update(range(i, i + n))
        if got:
            claims[key] = got
    count: dict[int, int] = {}
    for got in claims.values():
        for i in got:
            count[i] = count.get(i, 0) + 1
    return {key: sum(words[i][0] / count[i] for i in got) for key, got in claims.items()}, total


# --- totals ----------------------------------------------------------------------------------
def _inclusive(root: Span, shares: dict[int, float]) -> dict[int, float]:
    """Each span's share plus its descendants'."""
    totals: dict[int, float] = {}

    def visit(span: Span) -> float:
        total = shares.get(span.span_id, 0.0) + sum(visit(c) for c in span.children)
        totals[span.span_id] = total
        return total

    visit(root)
    return totals


def _call_spent(span: Span) -> tuple[int, float]:
    usage = span.attrs.get("usage")
    tokens = 0
    if isinstance(usage, dict):
        total = usage.get("total_tokens")
        if isinstance(total, int):
            tokens = total
        else:
            tokens = int(usage.get("input_tokens", 0) or 0) + int(usage.get("output_tokens", 0) or 0)
    cost = span.attrs.get("cost")
    return tokens, float(cost) if isinstance(cost, (int, float)) else 0.0


def _spent(span: Span) -> tuple[int, float]:
    """Tokens and cost of every model call in the span's subtree (itself included)."""
    tokens, cost = 0, 0.0
    for s in span.walk():
        if s.kind in MODEL_CALL_KINDS:
            t, c = _call_spent(s)
            tokens, cost = tokens + t, cost + c
    return tokens, cost


def _wasted(root: Span, methods: dict[int, str], parents: dict[int, Span]) -> tuple[int, float]:
    tokens, cost = 0, 0.0
    for span in root.walk():
        if span.kind not in MODEL_CALL_KINDS:
            continue
        wasted = span.kind == "llm" and span.span_id not in methods
        parent = parents.get(span.span_id)
        while not wasted and parent is not None:
            wasted = parent.kind == "child_run" and parent.span_id not in methods
            parent = parents.get(parent.span_id)
        if wasted:
            t, c = _call_spent(span)
            tokens, cost = tokens + t, cost + c
    return tokens, cost


# --- labels ----------------------------------------------------------------------------------
def _label(span: Span, parents: dict[int, Span]) -> str:
    """E.g. "iteration 2 / code #5 / llm #7" (child runs' iterations say their depth)."""
    names = {"llm": "sub-call", "child_run": "child run", "code": "code"}
    parts = [f"{names.get(span.kind, span.kind)} #{span.span_id}"]
    parent = parents.get(span.span_id)
    while parent is not None:
        if parent.kind in ("iteration", "child_run", "code"):
            parts.append(parent.name if parent.kind == "iteration"
                         else f"{names[parent.kind]} #{parent.span_id}")
        parent = parents.get(parent.span_id)
    return " / ".join(reversed(parts))


def _result_text(span: Span, limit: int | None = RESULT_CHARS) -> str:
    """What the step produced: a sub-call's reply, a child's answer, a code step's output."""
    a = span.attrs
    if span.kind == "llm":
        text = a.get("response") or (f"error: {span.error}" if span.error else "")
    elif span.kind == "child_run":
        text = a.get("answer") or (f"error: {span.error}" if span.error else "")
    else:
        text = a.get("stdout") or a.get("code") or ""
    text = str(text)
    return text if limit is None else text[:limit]
