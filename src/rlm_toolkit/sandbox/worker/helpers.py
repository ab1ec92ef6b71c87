"""Helpers the model finds in its REPL for reading data on demand. Standard library only."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any


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
    return _split_text(text, size, overlap)


def _split_text(text: str, size: int, overlap: int) -> list[str]:
    chunks: list[str] = []
    start, n = 0, len(text)
    while start < n:
        end = min(start + size, n)
        if end < n:
            cut = text.rfind("\n", start + size // 2, end)
            if cut != -1:
                end = cut + 1
        chunks.append(text[start:end])
        if end >= n:
            break
        start = max(end - overlap, start + 1)
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
    max_matches: int = 200, _default: Any = "",
) -> list[str]:
    """Lines of `text` (default: the context) matching the regex `pattern`.

    `text` may be any context value: a list or dict is searched one item a line (as JSON).
    Each match is "L<number>: <line>", with `context_lines` lines around it joined by newlines.
    """
    source = lines_text(_default if text is None else text)
    flags = re.IGNORECASE if ignore_case else 0
    try:
        regex = re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"grep: bad regex {pattern!r}: {exc}; escape it with re.escape()") from None
    lines = source.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if regex.search(line):
            lo, hi = max(0, i - context_lines), min(len(lines), i + context_lines + 1)
            out.append("\n".join(f"L{j + 1}: {lines[j]}" for j in range(lo, hi)))
            if len(out) >= max_matches:
                break
    return out


def describe(value: Any) -> str:
    """A one-line summary of a value: type and size, never its full content."""
    kind = type(value).__name__
    if isinstance(value, (str, bytes, list, tuple, dict, set)):
        return f"{kind} (len {len(value):,})"
    if isinstance(value, (int, float, bool)) or value is None:
        text = repr(value)
        return f"{kind} = {text[:60]}"
    return kind
