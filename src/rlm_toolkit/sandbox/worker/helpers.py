"""Helpers the model finds in its REPL for reading data on demand. Standard library only.

What `grep` and `split_document` return still behaves like plain text, and also knows where
it came from (`Match`): the offsets into the context's text (`source_text`), the line, and for
list and dict contexts the key path. A final answer cites such matches, and the host checks
each one against the same text.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from typing import Any

Key = str | int


class Match(str):
    """Text from the context that knows where it is.

    It is the text shown (a `grep` line reads "L12: line"); `.text` is the context's own text
    at `.start:.end` (character offsets into `source_text(context)`), `.line` the line number
    (1-based) and `.path` the key path of the list item or dict entry it lies in. When the
    place is unknown (a search of some other text), `.start` and `.end` are None and the host
    finds `.text` in the context by exact match.
    """

    start: int | None
    end: int | None
    line: int | None
    path: tuple[Key, ...]
    text: str

    def __new__(cls, shown: str, *, text: str | None = None, start: int | None = None,
                end: int | None = None, line: int | None = None,
                path: tuple[Key, ...] = ()) -> Match:
        obj = super().__new__(cls, shown)
        obj.text = shown if text is None else text
        obj.start, obj.end, obj.line, obj.path = start, end, line, tuple(path)
        return obj

    def where(self) -> str:
        """Where it is, in words: 'chars 120-180, line 4, key users/3'."""
        parts = [] if self.start is None else [f"chars {self.start}-{self.end}"]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.path:
            parts.append("key " + "/".join(str(k) for k in self.path))
        return ", ".join(parts) or "place unknown"


class Source:
    """The context as the text every offset counts in, with where each item starts.

    str: itself; bytes: read as UTF-8; a list: one item a line (JSON); a dict: one
    `key: value` a line. `keys[i]` is the index or key of the item starting at `starts[i]`.
    (A plain class: `dataclasses` would load `inspect` at every worker start.)
    """

    def __init__(self, text: str, starts: list[int] | None = None,
                 keys: list[Key] | None = None) -> None:
        self.text = text
        self.starts: list[int] = [] if starts is None else starts
        self.keys: list[Key] = [] if keys is None else keys

    def path_at(self, offset: int) -> tuple[Key, ...]:
        """The key path of the item holding `offset` (empty for text)."""
        if not self.starts:
            return ()
        i = bisect.bisect_right(self.starts, offset) - 1
        return (self.keys[max(i, 0)],)


def source_of(value: Any) -> Source:
    """The `Source` of a context value (see `Source`); `source_text` is its text."""
    if isinstance(value, (list, tuple, dict)):
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        parts: list[str] = []
        starts: list[int] = []
        keys: list[Key] = []
        pos = 0
        for key, item in items:
            line = (f"{as_text(str(key))}: {as_text(item)}" if isinstance(value, dict)
                    else as_text(item))
            starts.append(pos)
            keys.append(str(key) if isinstance(value, dict) else key)
            parts.append(line)
            pos += len(line) + 1
        return Source("\n".join(parts), starts, keys)
    return Source(as_text(value))


def source_text(value: Any) -> str:
    """The text a context's offsets count in: what `grep` searches and citations point into."""
    return lines_text(value)


def split_document(text: Any, size: int = 20_000, overlap: int = 0) -> list[Any]:
    """Cut a context into chunks of about `size` characters.

    Text (and bytes, read as UTF-8) is cut preferring newlines; consecutive chunks share
    `overlap` characters, and every character is in a chunk. A list is cut into shorter lists
    and a dict into smaller dicts, whole items each, of about `size` characters of JSON.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError("split_document: size must be a positive whole number of characters")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < size:
        raise ValueError("split_document: overlap must be >= 0 and smaller than size")
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    if isinstance(text, (list, tuple)):
        return _split_items(list(text), size, list)
    if isinstance(text, dict):
        return _split_items(list(text.items()), size, dict)
    if not isinstance(text, str):
        raise TypeError(f"split_document needs text, bytes, a list or a dict, got "
                        f"{type(text).__name__}; try str(x)")
    if isinstance(text, Match):  # a chunk of a chunk keeps its place in the context
        if text.start is not None and text.text == str(text):
            return _split_text(str(text), size, overlap, text.start, text.line)
        return _split_text(str(text), size, overlap, None, None)
    return _split_text(text, size, overlap)


def _split_text(text: str, size: int, overlap: int, base: int | None = 0,
                base_line: int | None = 1) -> list[str]:
    """Chunks as `Match`es: offsets from `base` and lines from `base_line` (None: unknown)."""
    chunks: list[str] = []
    start, n = 0, len(text)
    line = base_line
    while start < n:
        end = min(start + size, n)
        if end < n:
            cut = text.rfind("\n", start + size // 2, end)
            if cut != -1:
                end = cut + 1
        piece = text[start:end]
        chunks.append(Match(piece, start=None if base is None else base + start,
                            end=None if base is None else base + end, line=line))
        if end >= n:
            break
        nxt = max(end - overlap, start + 1)
        if line is not None:
            line += text.count("\n", start, nxt)
        start = nxt
    return chunks


def _split_items(items: list[Any], size: int, build: Callable[[list[Any]], Any]) -> list[Any]:
    """Whole items grouped so each group's JSON is about `size` characters (one item at least)."""
    groups: list[Any] = []
    group: list[Any] = []
    used = 0
    for item in items:
        cost = len(as_text(item)) + 2
        if group and used + cost > size:
            groups.append(build(group))
            group, used = [], 0
        group.append(item)
        used += cost
    if group:
        groups.append(build(group))
    return groups


def as_text(value: Any) -> str:
    """Any context value as text: str as is, bytes as UTF-8, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return json.dumps(value, ensure_ascii=False, default=str)


def lines_text(value: Any) -> str:
    """A context value as lines to search: a list one item a line, a dict one `key: value` a
    line (JSON), anything else as `as_text`."""
    if isinstance(value, (list, tuple)):
        return "\n".join(as_text(item) for item in value)
    if isinstance(value, dict):
        return "\n".join(f"{as_text(str(k))}: {as_text(v)}" for k, v in value.items())
    return as_text(value)


def grep(
    pattern: str, text: Any = None, context_lines: int = 0, *, ignore_case: bool = True,
    max_matches: int = 200, _default: Any = "", _source: Source | None = None,
) -> list[Match]:
    """Lines of `text` (default: the context) matching the regex `pattern`.

    `text` may be any context value: a list or dict is searched one item a line (as JSON).
    Each match is a `Match` reading "L<number>: <line>", with `context_lines` lines around it
    joined by newlines; its `.start`/`.end`/`.line` locate the matching line (`.text`).
    """
    flags = re.IGNORECASE if ignore_case else 0
    try:
        regex = re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"grep: bad regex {pattern!r}: {exc}; escape it with re.escape()") from None
    base: int | None = 0
    first_line: int | None = 1
    if text is None:
        source = _source or source_of(_default)
    elif isinstance(text, Match):  # a chunk: offsets continue from where it sits
        located = text.start is not None and text.text == str(text)
        source = Source(str(text))
        base = text.start if located else None
        first_line = text.line if located else None
    else:
        source = source_of(text)
        if _source is None or text is not _default:
            base, first_line = (None, None) if _source is not None else (0, 1)
        else:
            source = _source
    lines = source.text.splitlines(keepends=True)
    out: list[Match] = []
    pos = 0
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        if found := regex.search(line):
            lo, hi = max(0, i - context_lines), min(len(lines), i + context_lines + 1)
            number = i + 1 if first_line is None else first_line + i
            shown = "\n".join(
                f"L{(j + 1) if first_line is None else first_line + j}: "
                + (_around(line, found) if j == i else _head(_strip_end(lines[j])))
                for j in range(lo, hi))
            located = base is not None
            out.append(Match(
                shown, text=line, start=None if base is None else base + pos,
                end=None if base is None else base + pos + len(line),
                line=number if located else None,
                path=source.path_at(pos) if located else (),
            ))
            if len(out) >= max_matches:
                break
        pos += len(raw)
    return out


#: A matching line longer than this (a paragraph) is shown around its match, and a
#: neighbouring one by its start; `.text` is always the whole line.
SHOWN_LINE_CHARS = 400
SHOWN_AROUND_CHARS = 160


def _around(line: str, found: re.Match[str]) -> str:
    """A long line cut to the part around its match, marked with "..." where cut."""
    if len(line) <= SHOWN_LINE_CHARS:
        return line
    a = max(0, found.start() - SHOWN_AROUND_CHARS)
    b = min(len(line), found.end() + SHOWN_AROUND_CHARS)
    return ("..." if a else "") + line[a:b] + ("..." if b < len(line) else "")


def _head(line: str) -> str:
    """A long neighbouring line cut to its start."""
    return line if len(line) <= SHOWN_LINE_CHARS else line[:SHOWN_AROUND_CHARS] + "..."


def _strip_end(raw: str) -> str:
    return raw.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def describe(value: Any) -> str:
    """A one-line summary of a value: type and size, never its full content."""
    kind = type(value).__name__
    if isinstance(value, (str, bytes, list, tuple, dict, set)):
        return f"{kind} (len {len(value):,})"
    if isinstance(value, (int, float, bool)) or value is None:
        text = repr(value)
        return f"{kind} = {text[:60]}"
    return kind


#: A line that starts an item: a word or two, a number, then ':', '.', ')', ']' or '-'
#: ("Review 12:", "Ticket #7 -", "[3]"), or a date/time stamp (log lines).
_ITEM_HEAD = re.compile(
    r"^\s*(?P<word>[A-Za-z][A-Za-z _-]{0,24}?)?\s*(?P<hash>#|No\.?\s*)?\d+\s*(?P<sep>[:.)\]-])\s")
_STAMP_HEAD = re.compile(r"^\s*\[?\d{4}-\d{2}-\d{2}[T ]?(\d{2}:\d{2}(:\d{2})?)?")
#: A record line that starts with a field name ("Date: ... || User: ...").
_FIELD_HEAD = re.compile(r"^\s*(?P<field>[A-Z][A-Za-z _-]{0,24}):\s")
#: A pattern needs this many lines to count as repeated items.
MIN_ITEMS = 3


class ItemPattern:
    """Lines of a text that share a head: `regex` finds them, `count` of them, one `sample`.

    Read-only, compared and hashed by value. (A plain class: `dataclasses` would load
    `inspect` at every worker start.)
    """

    __slots__ = ("count", "label", "regex", "sample")
    label: str
    regex: str
    count: int
    sample: str

    def __init__(self, label: str, regex: str, count: int, sample: str) -> None:
        for name, value in (("label", label), ("regex", regex), ("count", count),
                            ("sample", sample)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"an ItemPattern is read-only (cannot set {name!r})")

    def _key(self) -> tuple[str, str, int, str]:
        return self.label, self.regex, self.count, self.sample

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ItemPattern) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return f"{self.count} lines like {self.label!r} (e.g. {self.sample[:80]!r})"

    __repr__ = __str__  # a printed list reads as the model needs it


def _head_of(line: str) -> tuple[str, str] | None:
    """The (label, regex) of the head that starts `line`, or None."""
    m = _ITEM_HEAD.match(line)
    if m is not None:
        word = (m.group("word") or "").strip()
        hashed = m.group("hash") or ""
        sep = m.group("sep")
        label = f"{word} {hashed.strip()}N{sep}".strip() if word else f"{hashed.strip()}N{sep}"
        regex = (r"^\s*" + (re.escape(word) + r"\s*" if word else "")
                 + (re.escape(hashed.strip()) + r"\s*" if hashed.strip() else "")
                 + r"\d+\s*" + re.escape(sep))
        return label, regex
    if _STAMP_HEAD.match(line):
        return "YYYY-MM-DD ...", r"^\s*\[?\d{4}-\d{2}-\d{2}"
    field_head = _FIELD_HEAD.match(line)
    if field_head is not None:
        name = field_head.group("field").strip()
        return f"{name}: ...", r"^\s*" + re.escape(name) + r":"
    return None


def item_patterns(text: Any = None, *, _default: Any = "", min_count: int = MIN_ITEMS,
                  limit: int = 5) -> list[ItemPattern]:
    """The line heads that repeat in `text` (default: the context), most frequent first.

    A head is a word and a number ("Review 12:", "Ticket #7 -") or a date stamp (log lines);
    each `ItemPattern` has the regex that finds such lines, their count and a sample line.
    """
    source = lines_text(_default if text is None else text)
    counts: dict[str, list[Any]] = {}
    for line in source.splitlines():
        head = _head_of(line)
        if head is None:
            continue
        entry = counts.setdefault(head[1], [head[0], 0, line.strip()])
        entry[1] += 1
    found = [ItemPattern(label, regex, n, sample) for regex, (label, n, sample) in counts.items()
             if n >= min_count]
    found.sort(key=lambda p: -p.count)
    return found[:limit]


def find_items(text: Any = None, pattern: str | None = None, *, _default: Any = "",
               max_chars: int = 4_000) -> list[Match]:
    """The repeated items of `text` (default: the context): each starts at a line matching
    `pattern` (a regex; default: the most frequent head found by `item_patterns`) and runs
    to the next such line or a blank line, at most `max_chars` characters. Each is a `Match`
    (its place in the context known)."""
    value = _default if text is None else text
    if pattern is None:
        patterns = item_patterns(value)
        if not patterns:
            return []
        pattern = patterns[0].regex
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"find_items: bad regex {pattern!r}: {exc}") from None
    located = text is None  # offsets of some other text do not point into the context
    source = lines_text(value)
    items: list[Match] = []
    start: int | None = None
    start_line = 0
    pos = 0

    def close(end: int) -> None:
        if start is None:
            return
        body = source[start:end].rstrip()[:max_chars]
        items.append(Match(body, start=start if located else None,
                           end=start + len(body) if located else None,
                           line=start_line if located else None))

    for number, raw in enumerate(source.splitlines(keepends=True), 1):
        line = _strip_end(raw)
        if regex.search(line):
            close(pos)
            start, start_line = pos, number
        elif not line.strip() and start is not None:
            close(pos)
            start = None
        pos += len(raw)
    close(pos)
    return items
