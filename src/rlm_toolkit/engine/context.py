"""Load the user's context and describe it: the root model sees this description, never the data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..providers.base import estimate_tokens

PREVIEW_CHARS = 240
DEFAULT_CHUNK_CHARS = 20_000


def load_context(value: Any) -> Any:
    """The context as the REPL will hold it: str, bytes, or JSON-like lists and dicts.

    A `pathlib.Path` is read: as text when it is UTF-8, else as bytes.
    """
    if isinstance(value, Path):
        if not value.is_file():
            raise ConfigError(f"context file {str(value)!r} does not exist or is not a file")
        raw = value.read_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if isinstance(value, (str, bytes, list, dict, tuple)):
        return list(value) if isinstance(value, tuple) else value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise ConfigError(
        f"context must be str, bytes, a list or dict (JSON-like), or a pathlib.Path; got "
        f"{type(value).__name__}. Convert it first, e.g. str(x) or json.loads(...)"
    )


@dataclass(frozen=True)
class ContextInfo:
    """What the root model is told about the context."""

    kind: str
    chars: int
    tokens: int
    preview: str
    structure: str

    def render(self) -> str:
        chunks = max(1, -(-self.chars // DEFAULT_CHUNK_CHARS))
        lines = [
            f"- type: {self.kind}",
            f"- size: {self.chars:,} characters (about {self.tokens:,} tokens)",
        ]
        if self.structure:
            lines.append(f"- structure: {self.structure}")
        lines.append(f"- preview of the start: {self.preview!r}")
        if chunks > 1:
            lines.append(
                f"- too big to read at once: e.g. split_document(context, {DEFAULT_CHUNK_CHARS}) "
                f"gives {chunks} chunks, or grep(pattern) finds lines"
            )
        return "\n".join(lines)


def describe_context(value: Any) -> ContextInfo:
    """Type, size, estimated tokens, a short preview and the shape of `value`."""
    if isinstance(value, str):
        text = value
        lines = value.count("\n") + 1 if value else 0
        structure = f"{lines:,} lines"
    elif isinstance(value, bytes):
        text = value[:PREVIEW_CHARS * 4].decode("utf-8", "replace")
        structure = "raw bytes"
        return ContextInfo("bytes", len(value), len(value) // 4, text[:PREVIEW_CHARS], structure)
    elif isinstance(value, list):
        text = json.dumps(value, ensure_ascii=False, default=str)
        kinds = sorted({type(x).__name__ for x in value[:1000]})
        structure = f"list of {len(value):,} items ({', '.join(kinds) or 'empty'})"
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
        keys = list(value)[:20]
        more = f" and {len(value) - 20} more" if len(value) > 20 else ""
        structure = f"dict with {len(value):,} keys: {', '.join(map(str, keys))}{more}"
    kind = type(value).__name__
    return ContextInfo(kind, len(text), estimate_tokens(text), text[:PREVIEW_CHARS], structure)
