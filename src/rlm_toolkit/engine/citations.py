"""Citations: where in the user's context an answer comes from, checked mechanically.

Offsets count in the context's text (`source_of`): a str as it is, bytes read as UTF-8, a list
one item a line and a dict one `key: value` a line (JSON), exactly as `grep` reads it in the
REPL. A citation the context does not hold is kept, marked `valid=False`, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..sandbox.worker.helpers import Key, Source
from ..sandbox.worker.repl import CITE_TEXT_CHARS

#: A grep line as shown ("L12: text"): a quote that starts with it is looked up without it.
_LINE_MARK = re.compile(r"^L\d+: ")
EXCERPT_CHARS = 80


@dataclass(frozen=True)
class Citation:
    """One cited range of the user's context.

    `start`/`end` are character offsets into the context's text (-1 when a quote was not
    found); `text` is what was cited; `valid` says the range exists and holds that text.
    `line` is the 1-based line of `start`, `path` the key path in a list or dict context,
    `reason` why a citation is not valid.
    """

    start: int
    end: int
    text: str
    valid: bool
    line: int | None = None
    path: tuple[Key, ...] = field(default_factory=tuple)
    reason: str = ""
    auto: bool = False  # found by the host (the answer's own words), not cited by the model

    def excerpt(self, chars: int = EXCERPT_CHARS) -> str:
        """The cited text on one line, cut to `chars` characters."""
        flat = " ".join(self.text.split())
        return flat if len(flat) <= chars else flat[: chars - 3] + "..."

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON output and the trace)."""
        return {"start": self.start, "end": self.end, "text": self.text, "valid": self.valid,
                "line": self.line, "path": list(self.path), "reason": self.reason,
                "auto": self.auto}


def check_citations(specs: Iterable[dict[str, Any]], source: Source) -> list[Citation]:
    """Each citation the worker sent, checked against `source`.

    A spec is {"start", "end"} (a range), {"start", "end", "text"} (a match: the range must
    hold that text) or {"quote"} (found by exact match; a leading "L<n>: " grep mark is
    ignored when the quote is not found with it).
    """
    return [check_one(spec, source) for spec in specs]


def check_one(spec: dict[str, Any], source: Source) -> Citation:
    """One citation checked against `source`."""
    text, size = source.text, len(source.text)
    if "quote" in spec:
        return locate(str(spec["quote"]), source)
    start, end = spec.get("start"), spec.get("end")
    claimed = spec.get("text")
    if not isinstance(start, int) or not isinstance(end, int):
        return Citation(-1, -1, str(claimed or ""), False,
                        reason="a citation needs (start, end) offsets, a match or a quote")
    if not 0 <= start < end <= size:
        return Citation(start, end, str(claimed or ""), False,
                        reason=f"range {start}-{end} is outside the context (0-{size})")
    held = text[start:end]
    # The worker sends at most CITE_TEXT_CHARS of a long match: that much must agree.
    if isinstance(claimed, str) and not (held == claimed or (
            len(claimed) == CITE_TEXT_CHARS and held.startswith(claimed))):
        return Citation(start, end, claimed, False, line_at(text, start), source.path_at(start),
                        reason=f"the context at {start}-{end} does not hold the cited text")
    return Citation(start, end, held, True, line_at(text, start), source.path_at(start))


#: A grep display's marks: "L12: " line heads and the "..." where a long line was cut.
_DISPLAY_MARKS = re.compile(r"(?:^|\n)L\d+: |\.\.\.")
#: The shortest piece of a grep display that is looked up on its own.
MIN_PIECE_CHARS = 20


def locate(quote: str, source: Source) -> Citation:
    """A quote found in `source` by exact match (first occurrence), else invalid.

    A quote copied from a grep display is also looked up without its marks: the
    "L12: " line heads and the "..." where a long line was cut (its longest piece).
    """
    text = source.text
    candidates = [quote]
    if _LINE_MARK.match(quote):
        candidates.append(_LINE_MARK.sub("", quote, count=1))
    pieces = [p.strip() for p in _DISPLAY_MARKS.split(quote)]
    longest = max(pieces, key=len, default="")
    if len(pieces) > 1 and len(longest) >= MIN_PIECE_CHARS:
        candidates.append(longest)
    for candidate in candidates:
        if not candidate.strip():
            continue
        at = text.find(candidate)
        if at != -1:
            end = at + len(candidate)
            return Citation(at, end, candidate, True, line_at(text, at), source.path_at(at))
    return Citation(-1, -1, quote, False, reason="the quoted text is not in the context")


#: An answer longer than this is prose, not a value to find in the context.
AUTO_MAX_ANSWER_CHARS = 120
AUTO_MIN_ANSWER_CHARS = 3
#: At most this many lines are cited for one answer; past it, only lines the model was shown.
AUTO_MAX_LINES = 3
#: Around the answer, at most this much of its line is cited (a context may be one long line).
AUTO_LINE_CHARS = 200


def auto_cite(answer: str, source: Source, shown: str) -> list[Citation]:
    """Citations the host finds for an uncited answer: the context's lines holding it verbatim.

    Only a short value (a code, a name, a date) is looked for, as a whole word. When it is on
    more than AUTO_MAX_LINES lines, only the lines in `shown` (what the model's code printed)
    are kept; still too many, or none, and nothing is cited. Each citation has `auto=True`.
    """
    value = answer.strip().strip(".\"'` ")
    if not AUTO_MIN_ANSWER_CHARS <= len(value) <= AUTO_MAX_ANSWER_CHARS or "\n" in value:
        return []
    text = source.text
    pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")
    spans: list[tuple[int, int]] = []
    for match in pattern.finditer(text):
        start = max(text.rfind("\n", 0, match.start()) + 1, match.start() - AUTO_LINE_CHARS)
        stop = text.find("\n", match.end())
        end = min(len(text) if stop == -1 else stop, match.end() + AUTO_LINE_CHARS)
        if not spans or spans[-1][1] < start:
            spans.append((start, end))
        if len(spans) > 50 * AUTO_MAX_LINES:
            return []
    if len(spans) > AUTO_MAX_LINES:
        spans = [(s, e) for s, e in spans if text[s:e].strip() in shown]
    if not 0 < len(spans) <= AUTO_MAX_LINES:
        return []
    return [Citation(s, e, text[s:e], True, line_at(text, s), source.path_at(s), auto=True)
            for s, e in spans]


def line_at(text: str, offset: int) -> int:
    """The 1-based line number of `offset` in `text`."""
    return text.count("\n", 0, offset) + 1


def place_in_parent(citations: Iterable[Citation], child: Source, parent: Source,
                    hint: int | None = None) -> list[Citation]:
    """A child run's citations placed in its parent's context.

    The child's context is found in the parent's text (at `hint` when the worker said where
    the chunk came from, else by exact match); a citation the parent's context does not
    hold is looked up by its text, and is invalid when not found.
    """
    base = None
    if child.text:
        if hint is not None and parent.text[hint:hint + len(child.text)] == child.text:
            base = hint
        else:
            found = parent.text.find(child.text)
            base = found if found != -1 else None
    placed: list[Citation] = []
    for c in citations:
        if not c.valid:
            placed.append(Citation(-1, -1, c.text, False, reason=c.reason))
        elif base is not None:
            start = base + c.start
            placed.append(Citation(start, base + c.end, c.text, True,
                                   line_at(parent.text, start), parent.path_at(start),
                                   auto=c.auto))
        else:
            placed.append(locate(c.text, parent))
    return placed


def as_specs(citations: Iterable[Citation]) -> list[dict[str, Any]]:
    """Citations as the worker takes them back (a child's answer's `.cite`)."""
    return [{"start": c.start if c.valid else None, "end": c.end if c.valid else None,
             "text": c.text, "line": c.line} for c in citations]
