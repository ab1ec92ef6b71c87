"""A text made ready once for the built-in detectors, so that 10 MB scan in well under a second.

Python's `re` tries a pattern that starts with a class (`\\d`, `[A-Z]`) at every character of
that class: in a log full of dates and ids that is millions of tries. The built-ins instead
look for a literal, a fast search, in a *shape* of the text (one byte per character, so offsets
are the text's), and run their full pattern only near each hit. A detector's literals (or
short byte patterns that start with one) are chosen so that every match of its pattern holds
one of them; the tests compare the result with the plain scan of every pattern over the whole
text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cached_property

#: What a detector looks for in `Scan.shape`: a literal, or a byte pattern starting with one.
Trigger = bytes | re.Pattern[bytes]

#: Digits as "0", the separators " ", "-" and "." as " ", capitals as "A":
#: "4111-1111-1111-1111" -> b"0000 0000 0000 0000", "GB82 WEST" -> b"AA00 AAAA".
SHAPE = bytes.maketrans(b"0123456789 -." + bytes(range(65, 91)), b"0" * 10 + b"   " + b"A" * 26)
#: The characters of API keys and tokens ([A-Za-z0-9_.-]) as "w", every other one as " ".
_KEY_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
WORDS = bytes(ord("w") if bytes([b]) in _KEY_CHARS else ord(" ") for b in range(256))
#: ASCII capitals as small letters, nothing else changed.
LOWER = bytes.maketrans(bytes(range(65, 91)), bytes(range(97, 123)))

#: A decimal digit other than 0-9 ("٣", "３").
OTHER_DIGIT = re.compile(r"[^\D0-9]")
#: The first bytes, in UTF-8, of every such digit (and of few other characters: no Latin,
#: Greek, Cyrillic, CJK, Hangul, punctuation or emoji), so most texts need no `OTHER_DIGIT` scan.
OTHER_DIGIT_UTF8 = re.compile(
    rb"[\xd9\xdb\xdf\xe0\xe1\xea\xef\xf0](?:(?<=[\xd9\xdb\xdf\xe0])|(?<=\xe1)[\x80-\xb1]"
    rb"|(?<=\xea)[\x98-\xaf]|(?<=\xef)\xbc|(?<=\xf0)(?:[\x90-\x9e]|\x9f\xaf))")
NOT_WORD = re.compile(rb"[^w]")


class Scan:
    """One text prepared for the built-in detectors; each view is made on first use."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._hits: dict[Trigger, list[tuple[int, int]]] = {}

    @cached_property
    def digits(self) -> str:
        """The text with every decimal digit made ASCII ("٣" -> "3"), at the same offsets, so
        that `shape` shows the digits of every script as "0" (as `\\d` reads them)."""
        if self.text.isascii():
            return self.text
        if OTHER_DIGIT_UTF8.search(self.text.encode("utf-8", "surrogatepass")) is None:
            return self.text
        found = set(OTHER_DIGIT.findall(self.text))
        if not found:
            return self.text
        return self.text.translate({ord(c): 48 + unicodedata.decimal(c) for c in found})

    @cached_property
    def raw(self) -> bytes:
        """The text in latin-1, one byte per character ("?" for any beyond latin-1)."""
        return self.text.encode("latin-1", "replace")

    @cached_property
    def shape(self) -> bytes:
        """`digits` in `SHAPE`: where digit groups, card and IBAN forms are searched."""
        digits = self.digits
        raw = self.raw if digits is self.text else digits.encode("latin-1", "replace")
        return raw.translate(SHAPE)

    @cached_property
    def words(self) -> bytes:
        """The text in `WORDS`: runs of "w" are the places a key can be."""
        return self.raw.translate(WORDS)

    @cached_property
    def lower(self) -> bytes:
        """The text with ASCII capitals made small: where secret names are searched."""
        return self.raw.translate(LOWER)

    def hits(self, trigger: Trigger) -> list[tuple[int, int]]:
        """Where `trigger` is in `shape` (made once per trigger: detectors share them)."""
        found = self._hits.get(trigger)
        if found is None:
            found = self._hits[trigger] = list(hits(self.shape, trigger))
        return found

    def starts(self, triggers: Iterable[tuple[Trigger, int]]) -> list[tuple[int, int]]:
        """Ranges (first, last) where a match may start, sorted and merged.

        Each trigger comes with how far before it a match holding it may start; the range of
        a hit also covers the hits it hid (up to its own end).
        """
        return merged((max(0, at - before), end)
                      for trigger, before in triggers for at, end in self.hits(trigger))


def hits(view: bytes, trigger: Trigger) -> Iterator[tuple[int, int]]:
    """Where `trigger` is in `view`, left to right; a hit hides the ones that overlap it."""
    if isinstance(trigger, re.Pattern):
        for m in trigger.finditer(view):
            yield m.span()
        return
    at = view.find(trigger)
    while at >= 0:
        yield at, at + len(trigger)
        at = view.find(trigger, at + len(trigger))


def merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """`ranges` sorted, with the ones that overlap or touch joined."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def confirmed(pattern: re.Pattern[str], text: str, ranges: Iterable[tuple[int, int]],
              reach: int = 64) -> Iterator[re.Match[str]]:
    """The matches `pattern.finditer(text)` gives that start in `ranges` (sorted, merged).

    `reach` bounds a match's length plus what its look-ahead reads, so the search near a range
    never misses a match; each is matched again on the whole text, whose result is the one kept.
    """
    done = 0
    for lo, hi in ranges:
        pos = max(lo, done)
        while pos <= hi:
            near = pattern.search(text, pos, hi + reach)
            if near is None or near.start() > hi:
                break
            full = pattern.match(text, near.start())
            if full is None:
                pos = near.start() + 1
                continue
            yield full
            done = pos = max(full.end(), full.start() + 1)


def runs(view: bytes, literal: bytes) -> Iterator[tuple[int, int]]:
    """The (start, end) of each run of "w" in `view` at least as long as `literal` ("w" * n)."""
    at = view.find(literal)
    while at >= 0:
        stop = NOT_WORD.search(view, at)
        end = len(view) if stop is None else stop.start()
        yield at, end
        at = view.find(literal, end)
