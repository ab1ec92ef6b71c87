"""Stable placeholders: each found value becomes `<EMAIL_1>` before a prompt leaves, and the
placeholders in what comes back are turned into the values again on the host.

One `Redactor` per run (never shared between runs): the same value always gets the same
placeholder within it, so the model can compare and count what it cannot read.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence

from .detectors import Finder
from .scan import Scan

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d+)>")


class Redactor:
    """Replaces detected values by placeholders and restores them. Holds values in memory only."""

    def __init__(self, detectors: Sequence[Finder]) -> None:
        self.detectors = list(detectors)
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._next: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        return bool(self.detectors)

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, kind) of each value found, without overlaps, in text order.

        Detectors are in priority order: a span overlapping one already taken is dropped.
        """
        starts: list[int] = []
        taken: list[tuple[int, int, str]] = []
        scan = Scan(text)  # made once, shared by the built-ins
        for detector in self.detectors:
            find_in = getattr(detector, "find_in", None)
            for start, end in find_in(scan) if find_in is not None else detector.find(text):
                i = bisect.bisect_right(starts, start)
                if i and taken[i - 1][1] > start:
                    continue
                if i < len(taken) and taken[i][0] < end:
                    continue
                starts.insert(i, start)
                taken.insert(i, (start, end, detector.kind))
        return taken

    def redact(self, text: str) -> tuple[str, Counter[str]]:
        """`text` with every found value replaced by its placeholder, and the counts by kind."""
        counts: Counter[str] = Counter()
        if not self.detectors:
            return text, counts
        found = self.spans(text)
        if not found:
            return text, counts
        parts: list[str] = []
        at = 0
        for start, end, kind in found:
            parts.append(text[at:start])
            parts.append(self.placeholder(kind, text[start:end]))
            counts[kind] += 1
            at = end
        parts.append(text[at:])
        return "".join(parts), counts

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of `value` (made on first sight): `<KIND_n>`."""
        key = (kind, value)
        known = self._by_value.get(key)
        if known is None:
            self._next[kind] += 1
            known = f"<{kind}_{self._next[kind]}>"
            self._by_value[key] = known
            self._by_placeholder[known] = value
        return known

    def restore(self, text: str) -> str:
        """`text` with every placeholder this run made turned back into its value."""
        if not self._by_placeholder or "<" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(), m.group()), text)

    def scrub(self, text: str) -> str:
        """`text` redacted (for the trace and logs): placeholders only, nothing counted."""
        return self.redact(text)[0]
