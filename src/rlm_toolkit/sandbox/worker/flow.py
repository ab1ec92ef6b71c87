"""Which sub-call results reach the final answer, tracked inside the REPL. Standard library only.

Every result of `llm`/`llm_batch`/`rlm_query`/`rlm_batch` comes back tagged with the id of its
span in the host's trace (`span_id` on the str). When a step gives a final answer, the tracker
reports to the host (a `flow` call) which results fed it and how:

- "value": the result object itself is reachable from the final value (the value given to
  FINAL, the variable FINAL_VAR named, or `answer["content"]`, through lists, dicts, tuples
  and sets);
- "text": runs of the result's words appear in the final text, as when results were sliced,
  joined or formatted into it (see `coverage`).

It also reports the variables that fed the answer and the step that last assigned each, so the
host can credit the code steps that produced them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

try:  # the small built-in sha1: hashlib would load OpenSSL at every worker start
    from _sha1 import sha1
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import sha1

#: At most this many results are remembered and reported (the latest win).
MAX_RESULTS = 10_000
#: Objects visited when following the final value through containers.
MAX_WALK = 50_000
#: Characters of a text compared with the final answer.
MAX_TEXT = 200_000
_WORD = re.compile(r"\w+")


#: Pieces of a result remembered as used (joined or formatted into other text), per result.
MAX_DERIVED = 64
#: str methods whose results stay tagged with the result they came from.
DERIVING = (
    "__getitem__", "__mul__", "split", "rsplit", "splitlines", "strip",
    "lstrip", "rstrip", "partition", "rpartition", "lower", "upper", "casefold", "title",
    "capitalize", "swapcase", "replace", "removeprefix", "removesuffix", "format", "expandtabs",
    "center", "ljust", "rjust", "zfill",
)


class SubResult(str):
    """A sub-call's text, tagged with its span in the host's trace. Behaves as a plain str.

    Slicing, splitting, stripping, replacing... it gives pieces tagged the same way. A piece
    added to other text (`+`), formatted into it (f-strings, `format`, `%`) or turned into a
    plain str is remembered as used (`derived`), so a piece of a result found in the final
    answer is credited to it. The text made that way is a plain str: it also holds others'.
    """

    span_id: int
    derived: list[str] | None = None

    def used(self) -> str:
        """Remember this piece as used; its text as a plain str."""
        text = str.__str__(self)
        if self.derived is not None and len(self.derived) < MAX_DERIVED and _WORD.search(text):
            self.derived.append(text)
        return text

    def __add__(self, other: str) -> str:
        if isinstance(other, SubResult):
            other = other.used()
        return self.used() + other

    def __radd__(self, other: str) -> str:
        return other + self.used()

    def __format__(self, spec: str) -> str:
        return format(self.used(), spec)

    def __str__(self) -> str:
        return self.used()

    def __mod__(self, args: Any) -> str:
        return str.__mod__(self.used(), args)


def _carry(source: SubResult, value: Any) -> Any:
    """`value` (a str method's result on `source`) tagged like `source`."""
    if isinstance(value, (list, tuple)):
        return type(value)(_carry(source, v) for v in value)
    if not isinstance(value, str) or isinstance(value, SubResult):
        return value
    out = SubResult(value)
    out.span_id, out.derived = source.span_id, source.derived
    return out


def _deriving(name: str) -> Callable[..., Any]:
    base = getattr(str, name)

    def method(self: SubResult, *args: Any, **kwargs: Any) -> Any:
        return _carry(self, base(self, *args, **kwargs))

    method.__name__ = name
    return method


for _name in DERIVING:
    setattr(SubResult, _name, _deriving(_name))
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
    digest: str = sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:16]


def coverage(texts: dict[int, list[str]], final: str) -> tuple[dict[int, float], int]:
    """Characters of `final` each key's texts account for, and the characters counted in all.

    Counted in word characters. A text claims the words of `final` it shares a run of three
    words with (a text under three words: its words in sequence). A word claimed by n keys
    counts 1/n for each, so a part every result has (boilerplate) says little.
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


class FlowTracker:
    """Remembers tagged results and which step assigned each variable; reports at a final."""

    def __init__(self) -> None:
        self.results: dict[int, SubResult] = {}
        self.assigned: dict[str, int] = {}
        self._ids: dict[str, int] = {}

    def tag(self, value: Any, span: int | None) -> Any:
        """`value` tagged with `span` (a plain str becomes a SubResult); remembered."""
        if span is None or not isinstance(value, str):
            return value
        if type(value) is str:
            value = SubResult(value)
            value.derived = []
        try:
            value.span_id = span
        except AttributeError:
            return value
        if isinstance(value, SubResult):
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
        covered, total = coverage(
            {span: [r, *(r.derived or [])] for span, r in self.results.items()}, text)
        out: list[list[Any]] = []
        for span, result in self.results.items():
            if span in reached:
                own = sum(len(w) for w in _WORD.findall(result[:MAX_TEXT]))
                out.append([span, "value", round(covered.get(span) or min(own, total), 2)])
            elif span in covered:
                out.append([span, "text", round(covered[span], 2)])
        fed = []
        for name, obj in names.items():
            if id(obj) in seen or (isinstance(obj, str) and obj is not value
                                   and len(obj.strip()) >= 8 and obj.strip() in text):
                fed.append([name, self.assigned.get(name, step)])
        return {"step": step, "hash": final_hash(text), "chars": total, "results": out,
                "vars": fed}

    def send(self, call: Callable[[str, dict[str, Any]], Any], value: Any, text: str,
             names: dict[str, Any], step: int) -> None:
        """Report to the host; a failure here never touches the step."""
        with contextlib.suppress(Exception):  # the credit falls back to a text guess
            call("flow", self.report(value, text, names, step))


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
