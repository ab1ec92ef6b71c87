"""Which sub-call results reach the final answer, tracked inside the REPL. Standard library only.

Every result of `llm`/`llm_batch`/`rlm_query`/`rlm_batch` comes back tagged with the id of its
span in the host's trace (`span_id` on the str). When a step gives a final answer, the tracker
reports to the host (a `flow` call) which results fed it and how:

- "value": the result object itself is reachable from the final value (the value given to
  FINAL, the variable FINAL_VAR named, or `answer["content"]`, through lists, dicts, tuples
  and sets);
- "text": the result's distinctive parts (its lines and sentences; a short result as a whole
  word) appear in the final text, as when results were sliced, joined or formatted into it.

It also reports the variables that fed the answer and the step that last assigned each, so the
host can credit the code steps that produced them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

#: At most this many results are remembered and reported (the latest win).
MAX_RESULTS = 10_000
#: Objects visited when following the final value through containers.
MAX_WALK = 50_000
#: A piece shorter than this counts only as a whole word of the final text.
SHORT_PIECE = 8
_PIECES = re.compile(r"[\n\r.;!?]+")


class SubResult(str):
    """A sub-call's text, tagged with its span in the host's trace. Behaves as a plain str."""

    span_id: int


SubResult.__name__ = SubResult.__qualname__ = "str"  # SHOW_VARS and errors say "str"


def split_reply(reply: Any) -> tuple[list[Any], list[int | None]]:
    """A host reply to `llm`/`rlm`: its items and the span id of each (None when not sent)."""
    if isinstance(reply, dict) and isinstance(reply.get("items"), list):
        items: list[Any] = reply["items"]
        spans = reply.get("spans")
        if isinstance(spans, list) and len(spans) == len(items):
            return items, [s if isinstance(s, int) and not isinstance(s, bool) else None
                           for s in spans]
        return items, [None] * len(items)
    if isinstance(reply, list):
        return reply, [None] * len(reply)
    raise RuntimeError("the host sent a reply of the wrong shape")


def final_hash(text: str) -> str:
    """A short fingerprint of a final answer's text (the host matches it with the run's answer)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def pieces(text: str) -> set[str]:
    """The parts of a result looked for in the final text: lines and sentences, or the whole."""
    found = {p.strip() for p in _PIECES.split(text)}
    found.discard("")
    return found or ({text.strip()} if text.strip() else set())


def occurs(piece: str, final: str) -> bool:
    """`piece` appears in `final` (a short piece only as a whole word)."""
    if len(piece) >= SHORT_PIECE:
        return piece in final
    return re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", final) is not None


class FlowTracker:
    """Remembers tagged results and which step assigned each variable; reports at a final."""

    def __init__(self) -> None:
        self.results: dict[int, str] = {}
        self.assigned: dict[str, int] = {}
        self._ids: dict[str, int] = {}

    def tag(self, value: Any, span: int | None) -> Any:
        """`value` tagged with `span` (a plain str becomes a SubResult); remembered."""
        if span is None or not isinstance(value, str):
            return value
        if type(value) is str:
            value = SubResult(value)
        try:
            value.span_id = span  # type: ignore[attr-defined]
        except AttributeError:
            return value
        self.results[span] = value
        if len(self.results) > MAX_RESULTS:
            del self.results[next(iter(self.results))]
        return value

    def after_step(self, names: dict[str, Any], step: int) -> None:
        """Note which variables the step `step` bound to a new object."""
        ids = {name: id(value) for name, value in names.items()}
        for name, ident in ids.items():
            if self._ids.get(name) != ident:
                self.assigned[name] = step
        self._ids = ids

    def report(self, value: Any, text: str, names: dict[str, Any], step: int) -> dict[str, Any]:
        """What fed the final `value` (given as `text`): results by span, variables by step."""
        reached, seen = _walk(value)
        shared: dict[str, int] = {}
        parts: dict[int, set[str]] = {}
        for span, result in self.results.items():
            if span not in reached:
                parts[span] = {p for p in pieces(result) if occurs(p, text)}
                for p in parts[span]:
                    shared[p] = shared.get(p, 0) + 1
        out: list[list[Any]] = []
        for span, result in self.results.items():
            if span in reached:
                out.append([span, "value", len(result.strip())])
            elif parts[span]:
                chars = sum(len(p) / shared[p] for p in parts[span])
                out.append([span, "text", round(chars, 2)])
        fed = []
        for name, obj in names.items():
            if id(obj) in seen or (isinstance(obj, str) and obj is not value
                                   and len(obj.strip()) >= SHORT_PIECE and obj.strip() in text):
                fed.append([name, self.assigned.get(name, step)])
        return {"step": step, "hash": final_hash(text), "chars": len(text), "results": out,
                "vars": fed}

    def send(self, call: Callable[[str, dict[str, Any]], Any], value: Any, text: str,
             names: dict[str, Any], step: int) -> None:
        """Report to the host; a failure here never touches the step."""
        try:
            call("flow", self.report(value, text, names, step))
        except Exception:  # the trace's credit falls back to a text guess
            pass


def _walk(value: Any) -> tuple[set[int], set[int]]:
    """Span ids of tagged results reachable from `value`, and the ids of objects visited."""
    reached: set[int] = set()
    seen: set[int] = set()
    stack = [value]
    while stack and len(seen) < MAX_WALK:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            span = getattr(obj, "span_id", None)
            if isinstance(span, int):
                reached.add(span)
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
    return reached, seen
