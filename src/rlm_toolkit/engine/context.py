"""Load the user's context, encode it once, and describe it from what was encoded.

The root model sees the description, never the data. The encoding (the sandbox's one encoder)
is what the REPL worker receives, what the description and the answer checks read, so all
three agree on what the context is.
"""

from __future__ import annotations

import asyncio
import hashlib
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..folders import FolderContext, open_folder
from ..providers.base import estimate_tokens
from ..sandbox.blob import EncodedContext, encode_context
from ..sandbox.worker.channel import decode_value
from ..sandbox.worker.helpers import item_patterns

PREVIEW_CHARS = 240
#: What the worker needs to hold a context, measured: the interpreter, then the mapped bytes
#: plus the decoded text (2x), or the parsed JSON objects (up to about 16x the JSON's size).
WORKER_BASE_MB = 40
TEXT_FACTOR, JSON_FACTOR = 2, 16
MIB = 1024 * 1024
DEFAULT_CHUNK_CHARS = 20_000
SHOWN_KEYS = 20
#: Characters of a text scanned for repeated items (a huge context is sampled).
ITEM_SCAN_CHARS = 2_000_000


def check_context_file(path: Path, *, flag: str = "context file", stdin_hint: bool = False) -> None:
    """Refuse a path that is not a readable regular file, saying what it is and the fix."""
    name = str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"{flag} {name!r} not found: give an existing file"
                          + (", or - for stdin" if stdin_hint else "")) from None
    except OSError as exc:
        raise ConfigError(f"{flag} {name!r} cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{flag} {name!r} is a folder, not a file: give one file (join the "
                          "files first, e.g. cat folder/* > all.txt)")
    if not stat.S_ISREG(mode):
        what = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "not a regular file"
        fix = f"pipe it on stdin instead: --context - < {name}" if stdin_hint else \
            "read it yourself and pass the text or bytes"
        raise ConfigError(f"{flag} {name!r} is {what}: {fix}")


def load_context(value: Any) -> Any:
    """The context as the REPL will hold it: str, bytes, or JSON-like lists and dicts.

    A `pathlib.Path` is read: as text when it is UTF-8, else as bytes.
    """
    if isinstance(value, FolderContext):
        return value
    if (isinstance(value, Path) and value.is_dir()) or (
            isinstance(value, (list, tuple)) and value and all(isinstance(v, Path) for v in value)):
        return open_folder(value)  # a folder, or several paths: a lazy mapping path -> text
    if isinstance(value, Path):
        check_context_file(value)
        try:
            raw = value.read_bytes()
        except OSError as exc:
            raise ConfigError(f"context file {str(value)!r} cannot be read: "
                              f"{exc.strerror or exc}") from None
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
        """The description for the root prompt; data from the context is quoted and fenced."""
        chunks = max(1, -(-self.chars // DEFAULT_CHUNK_CHARS))
        lines = [
            f"- type: {self.kind}",
            f"- size: {self.chars:,} characters (about {self.tokens:,} tokens)",
        ]
        if self.structure:
            lines.append(f"- structure: {self.structure}")
        if self.preview:
            lines.append(f"- preview of the start: {quote_data(self.preview)}")
        if self.kind == "folder":
            lines.append("- `context` maps each relative path to its text (read on access): "
                         "list(context), context[path], context.sizes[path] (bytes), "
                         "context.read(path, start, size) for part of a big file; grep and "
                         "split_document work on one file's text, e.g. grep(p, context[path]); "
                         "rlm_query takes a file's text or a dict {path: context[path]}")
        elif chunks > 1:
            lines.append(
                f"- too big to read at once: e.g. split_document(context, {DEFAULT_CHUNK_CHARS}) "
                f"gives about {chunks} chunks, or grep(pattern) finds lines"
            )
        return "\n".join(lines)


def quote_data(text: str) -> str:
    """`text` as untrusted data: escaped onto one line (repr) and fenced in <data> tags.

    The tag's id is derived from the text, so the data cannot contain its own closing tag.
    """
    tag = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f'<data id="{tag}">{text!r}</data id="{tag}">'


@dataclass(frozen=True)
class PreparedContext:
    """The context encoded once (what the worker receives) and its description."""

    value: Any
    encoded: EncodedContext
    info: ContextInfo

    @property
    def files(self) -> FolderContext | None:
        """The folder whose files the worker reads on demand, or None."""
        return self.value if isinstance(self.value, FolderContext) else None

    def text(self) -> str:
        """The encoded context as text (for checking an answer's numbers against it)."""
        if isinstance(self.value, str):
            return self.value
        return self.encoded.data.decode("utf-8", "replace")


def worker_memory_mb(encoded: EncodedContext) -> int:
    """About how much memory (MiB) the REPL worker needs to load this context."""
    factor = JSON_FACTOR if encoded.kind == "json" else TEXT_FACTOR
    return WORKER_BASE_MB + -(-len(encoded.data) * factor // MIB)


def check_memory_limit(encoded: EncodedContext, limit_mb: int | None) -> None:
    """ConfigError, before the worker starts, when `limit_mb` cannot hold the context."""
    needed = worker_memory_mb(encoded)
    if limit_mb is not None and limit_mb < needed:
        size = len(encoded.data) / MIB
        raise ConfigError(
            f"RLMConfig.memory_limit_mb={limit_mb} is too small for this context ({size:,.1f} MB "
            f"as {encoded.kind}): the REPL worker needs about {needed} MB to load it; set "
            f"memory_limit_mb to {needed} or more, or None for no limit"
        )


def prepare_context(value: Any) -> PreparedContext:
    """Encode `value` with the worker's encoder and describe it from the encoding.

    An already encoded context (a child run's, sent by the worker) is used as it is.
    """
    if isinstance(value, EncodedContext):
        encoded, value = value, decode_value(value.kind, value.data)
    elif isinstance(folder := load_context(value), FolderContext):
        return PreparedContext(folder, encode_context(folder.listing()), ContextInfo(
            "folder", folder.total_bytes, (folder.total_bytes + 3) // 4, "",
            quote_data(folder.describe())))
    else:
        value = folder
        encoded = encode_context(value)
    return PreparedContext(value, encoded, describe(value, encoded))


async def prepare_context_async(value: Any) -> PreparedContext:
    """`prepare_context` off the event loop: encoding 100 MB takes a while."""
    return await asyncio.to_thread(prepare_context, value)


def repeated_items(text: str) -> str:
    """'; 20 repeated items like <data>'Review N:'</data> (find_items() returns them)' for a
    text whose lines repeat a head, else ''. Only the most frequent head is named."""
    patterns = item_patterns(text[:ITEM_SCAN_CHARS])
    if not patterns:
        return ""
    top = patterns[0]
    sampled = " in its first 2 MB" if len(text) > ITEM_SCAN_CHARS else ""
    return (f"; {top.count:,} repeated items{sampled} like {quote_data(top.label)} "
            "(find_items() returns them)")


def describe(value: Any, encoded: EncodedContext) -> ContextInfo:
    """Type, size, estimated tokens, a short preview and the shape of `value`."""
    head = encoded.data[:PREVIEW_CHARS * 4].decode("utf-8", "ignore")[:PREVIEW_CHARS]
    kind = type(value).__name__
    if encoded.kind == "bytes":
        size = len(encoded.data)
        return ContextInfo("bytes", size, (size + 3) // 4, head, "raw bytes")
    text = value if isinstance(value, str) else encoded.data.decode("utf-8", "replace")
    if isinstance(value, str):
        lines = value.count("\n") + 1 if value else 0
        structure = f"{lines:,} lines" + repeated_items(value)
    elif isinstance(value, list):
        kinds = sorted({type(x).__name__ for x in value[:1000]})
        structure = f"list of {len(value):,} items ({', '.join(kinds) or 'empty'})"
    else:
        keys = [str(k) for k in list(value)[:SHOWN_KEYS]]
        more = f" and {len(value) - SHOWN_KEYS} more" if len(value) > SHOWN_KEYS else ""
        structure = f"dict with {len(value):,} keys: {quote_data(', '.join(keys))}{more}"
    return ContextInfo(kind, len(text), estimate_tokens(text), head, structure)
