"""Where the viewer's data comes from: a live `Trace`, or a JSONL file saved by `save_jsonl`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from ..export import iter_jsonl
from ..tree import Trace
from .model import NodeCredit, ViewData, build, credits_from


def trace_credits(trace: Trace) -> tuple[dict[int, NodeCredit], tuple[int, float] | None]:
    """The trace's credit records by span id and its wasted (tokens, cost), when it has them."""
    if trace.root is None:
        return {}, None
    report = getattr(trace, "credit_report", None)
    if callable(report):
        rep = report()
        records = getattr(rep, "records", None)
        tokens, cost = getattr(rep, "wasted_tokens", None), getattr(rep, "wasted_cost", None)
        wasted = (int(tokens), float(cost)) if isinstance(tokens, int) and \
            isinstance(cost, (int, float)) else None
        return credits_from(records if isinstance(records, list) else []), wasted
    credit = getattr(trace, "credit", None)
    records = credit() if callable(credit) else []
    return credits_from(records if isinstance(records, list) else []), None


def from_trace(trace: Trace) -> ViewData:
    """The viewer's data for a run that just finished (`result.trace`)."""
    if trace.root is None:
        raise ConfigError("this trace is empty: the run recorded no spans, so there is "
                          "nothing to show")
    credits, wasted = trace_credits(trace)
    return build(trace.root.to_dict(), trace.metadata, credits, wasted=wasted)


def _span_tree(n: int, obj: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    spans = obj.get("spans")
    if not isinstance(spans, Mapping):
        raise ConfigError(f"{where}, line {n}: an iteration line without its span tree "
                          "(`spans`); only traces saved by rlm_toolkit can be shown")
    _check_span(spans, f"{where}, line {n}")
    return spans


def _check_span(span: Mapping[str, Any], where: str) -> None:
    """Refuse a hand-edited span whose fields have the wrong types, naming the line."""
    stack = [span]
    while stack:
        s = stack.pop()
        if not isinstance(s.get("kind"), str):
            raise ConfigError(f"{where}: a span without a kind (found {s.get('kind')!r})")
        for key in ("start", "end", "duration_s"):
            v = s.get(key)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)):
                raise ConfigError(f"{where}: span {s.get('span_id')!r} has a {key} of "
                                  f"{v!r}, not a number")
        if not isinstance(s.get("attrs", {}), Mapping):
            raise ConfigError(f"{where}: span {s.get('span_id')!r} has attrs that are not "
                              "an object")
        kids = s.get("children", [])
        if not isinstance(kids, list) or not all(isinstance(k, Mapping) for k in kids):
            raise ConfigError(f"{where}: span {s.get('span_id')!r} has children that are "
                              "not a list of spans")
        stack.extend(kids)


def from_jsonl(path: str | os.PathLike[str]) -> ViewData:
    """The viewer's data for a JSONL trace; a damaged file raises `ConfigError` naming the line."""
    where = f"trace file {os.fspath(path)!r}"
    metadata: dict[str, Any] = {}
    iterations: list[Mapping[str, Any]] = []
    outcome: dict[str, Any] | None = None
    records: list[Any] = []
    extra: list[Mapping[str, Any]] = []
    wasted: tuple[int, float] | None = None
    last = 0
    for n, obj in iter_jsonl(path):
        last = n
        kind = obj.get("type")
        if kind == "metadata":
            metadata = obj
        elif kind == "iteration":
            iterations.append(_span_tree(n, obj, where))
        elif kind == "result":
            outcome = obj
            run = obj.get("spans")
            if isinstance(run, list):  # run-level spans outside any iteration ("answer now")
                for s in run:
                    if isinstance(s, Mapping):
                        _check_span(s, f"{where}, line {n}")
                        extra.append(s)
            cr = obj.get("credit")
            if isinstance(cr, list):
                records.extend(cr)
        elif kind == "credit":
            cr = obj.get("records", obj.get("credit"))
            if isinstance(cr, list):
                records.extend(cr)
            elif "span_id" in obj:
                records.append(obj)
            tokens, cost = obj.get("wasted_tokens"), obj.get("wasted_cost")
            if isinstance(tokens, int) and isinstance(cost, (int, float)):
                wasted = (tokens, float(cost))
        elif not isinstance(kind, str):
            raise ConfigError(f"{where}, line {n}: a line without a `type` "
                              "(metadata, iteration, result); was the file edited by hand?")
    if outcome is None:
        raise ConfigError(f"{where} ends at line {last} without its `result` line: the file "
                          "was cut off, so the run's outcome is missing")
    root = _run_span(metadata, iterations + extra, outcome)
    return build(root, metadata, credits_from(records), outcome, wasted)


def _run_span(metadata: Mapping[str, Any], children: list[Mapping[str, Any]],
              outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The top run's span, rebuilt from the lines (the file keeps its children and outcome)."""
    starts = [s["start"] for s in children if isinstance(s.get("start"), (int, float))]
    ends = [s["end"] for s in children if isinstance(s.get("end"), (int, float))]
    first = children[0] if children else {}
    parent_id = first.get("parent_id") if isinstance(first, Mapping) else None
    attrs = {k: v for k, v in outcome.items() if k not in ("type", "spans", "credit")}
    if attrs.get("query") is None:
        attrs["query"] = metadata.get("query") or _query_of(children)
    children = sorted(children, key=lambda s: s.get("start") or 0.0)
    return {
        "kind": "run", "name": "run", "span_id": parent_id if isinstance(parent_id, int) else 1,
        "start": min(starts) if starts else None, "end": max(ends) if ends else None,
        "attrs": attrs, "error": outcome.get("error"), "children": children,
    }


def _query_of(iterations: list[Mapping[str, Any]]) -> str | None:
    """The query as the root model was told it (`Query: ...`), when the file does not keep it."""
    for span in iterations[:1]:
        prompt = (span.get("attrs") or {}).get("prompt")
        for message in prompt if isinstance(prompt, list) else []:
            text = message.get("content") if isinstance(message, Mapping) else None
            if isinstance(text, str) and text.startswith("Query: "):
                return text[len("Query: "):].split("\n\nThe context variable:", 1)[0]
    return None
