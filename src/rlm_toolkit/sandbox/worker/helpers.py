"""Helpers the model finds in its REPL for reading data on demand. Standard library only."""

from __future__ import annotations

import re
from typing import Any


def split_document(text: str, size: int = 20_000, overlap: int = 0) -> list[str]:
    """Cut `text` into chunks of about `size` characters, preferring to break at newlines.

    Consecutive chunks share `overlap` characters. Every character of `text` is in a chunk.
    """
    if not isinstance(text, str):
        raise TypeError(f"split_document needs a str, got {type(text).__name__}; try str(x)")
    if size <= 0:
        raise ValueError("split_document: size must be a positive number of characters")
    if not 0 <= overlap < size:
        raise ValueError("split_document: overlap must be >= 0 and smaller than size")
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


def grep(
    pattern: str, text: str | None = None, context_lines: int = 0, *, ignore_case: bool = True,
    max_matches: int = 200, _default: str = "",
) -> list[str]:
    """Lines of `text` (default: the context) matching the regex `pattern`.

    Each match is "L<number>: <line>", with `context_lines` lines around it joined by newlines.
    """
    source = _default if text is None else text
    if not isinstance(source, str):
        source = str(source)
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
