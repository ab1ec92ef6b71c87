"""Messages between host and worker: JSON objects, cut into length-prefixed frames.

A frame is a 5-byte header (one kind byte, a 4-byte big-endian length) then that many bytes.
One message is zero or more attachments (raw bytes, for big contexts) followed by one JSON
object (UTF-8); each of them is cut into frames of at most `MAX_FRAME_BYTES`, so a message of
any size up to `MAX_MESSAGE_BYTES` crosses without one giant frame. Both sides use this module
(the worker imports it from its own folder), so there is one limit and one format.

Everything decoded is made safe to store and to send on: lone surrogates and NULs in any
string become U+FFFD, invalid UTF-8 is replaced. Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Iterator, Sequence
from typing import Any

HEADER = struct.Struct(">BI")
MAX_FRAME_BYTES = 16 * 1024 * 1024  # one frame, either direction
MAX_MESSAGE_BYTES = 512 * 1024 * 1024  # one message with its attachments, either direction

PART = ord("m")  # a piece of the JSON object; more follows
LAST = ord("M")  # the last piece of the JSON object: the message is complete
BLOB_PART = ord("b")  # a piece of an attachment; more follows
BLOB_LAST = ord("B")  # the last piece of an attachment
KINDS = (PART, LAST, BLOB_PART, BLOB_LAST)
SMALL_FRAME = 64 * 1024  # a frame this small is written with its header in one piece

UNSAFE = re.compile("[\ud800-\udfff\x00]")  # lone surrogates and NULs
# JSON can carry those only as escapes: a body without one needs no walk.
UNSAFE_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")
REPLACEMENT = "\ufffd"


class FrameError(Exception):
    """A frame was malformed, too large, or the stream ended mid-frame."""


# --- text safety ----------------------------------------------------------------------
def safe_text(text: str) -> str:
    """`text` with every lone surrogate and NUL replaced by U+FFFD."""
    return UNSAFE.sub(REPLACEMENT, text) if UNSAFE.search(text) else text


def safe_tree(value: Any) -> Any:
    """A JSON value (as `json.loads` returns it) with every string, keys too, made safe."""
    if isinstance(value, str):
        return safe_text(value)
    if not isinstance(value, (list, dict)):
        return value
    root: list[Any] = [value]
    stack: list[Any] = [root]
    while stack:  # iterative: a deep structure cannot exhaust the stack
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = safe_text(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
        else:
            for key in list(node):
                item = node[key]
                if isinstance(item, str):
                    item = safe_text(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
                clean = safe_text(key)
                if clean != key:
                    del node[key]
                node[clean] = item
    return root[0]


# --- values and messages --------------------------------------------------------------
def encode_value(value: Any) -> tuple[str, bytes]:
    """The kind ("str", "bytes" or "json") and the bytes of a context value."""
    if isinstance(value, str):
        try:
            return "str", value.encode("utf-8")
        except UnicodeEncodeError:
            return "str", safe_text(value).encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes", bytes(value)
    return "json", dumps(value)


def decode_value(kind: str, data: bytes) -> Any:
    """The value `encode_value` made; strings made safe. FrameError for an unknown kind."""
    if kind == "str":
        return safe_text(data.decode("utf-8", "replace"))
    if kind == "bytes":
        return data
    if kind == "json":
        return loads_value(data)
    raise FrameError(f"unknown attachment kind {kind!r}")


def dumps(value: Any) -> bytes:
    """UTF-8 JSON; lone surrogates (which UTF-8 cannot hold) become U+FFFD."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return safe_text(text).encode("utf-8")


def loads_value(body: bytes) -> Any:
    """A JSON value from untrusted bytes, made safe; FrameError if it is not JSON."""
    try:
        value = json.loads(body.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:  # bad JSON, or nested too deep
        raise FrameError(f"malformed frame: {type(exc).__name__}: {str(exc)[:200]}") from None
    return safe_tree(value) if UNSAFE_ESCAPE.search(body) else value


def decode(body: bytes) -> dict[str, Any]:
    """One message from its JSON bytes; FrameError unless it is an object with a string op."""
    message = loads_value(body)
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise FrameError("malformed frame: not an object with an 'op'")
    return message


def frames(message: Any, attachments: Sequence[bytes] = (),
           max_frame: int = MAX_FRAME_BYTES) -> Iterator[bytes | memoryview]:
    """The bytes of one message's frames, to write in order.

    A small frame comes as one buffer (one write); a big one as its header, then a view of its
    body, so nothing big is copied.
    """
    return body_frames(dumps(message), attachments, max_frame)


def body_frames(body: bytes, attachments: Sequence[bytes] = (),
                max_frame: int = MAX_FRAME_BYTES) -> Iterator[bytes | memoryview]:
    """The frames of a message whose JSON is already encoded as `body`."""
    for data in attachments:
        yield from _pieces(memoryview(data), BLOB_PART, BLOB_LAST, max_frame)
    yield from _pieces(memoryview(body), PART, LAST, max_frame)


def _pieces(data: memoryview, more: int, last: int,
            max_frame: int) -> Iterator[bytes | memoryview]:
    while True:
        piece, data = data[:max_frame], data[max_frame:]
        header = HEADER.pack(last if not data else more, len(piece))
        if len(piece) <= SMALL_FRAME:
            yield header + piece
        else:
            yield header
            yield piece
        if not data:
            return


def check_header(header: bytes, max_frame: int) -> tuple[int, int]:
    """The kind and size a header announces; FrameError if either is not allowed."""
    kind, size = HEADER.unpack(header)
    if kind not in KINDS:
        raise FrameError(f"unknown frame kind {kind:#x}")
    if size > max_frame:
        raise FrameError(f"a {size}-byte frame, over the {max_frame}-byte limit")
    return kind, size


class Assembler:
    """Joins frames into messages, holding no more than `max_message` bytes at once."""

    def __init__(self, max_message: int = MAX_MESSAGE_BYTES) -> None:
        self.max_message = max_message
        self._json: list[bytes] = []
        self._blob: list[bytes] = []
        self._blobs: list[bytes] = []
        self._held = 0

    def feed(self, kind: int, body: bytes) -> tuple[dict[str, Any], list[bytes]] | None:
        """Take one frame; the message and its attachments once the last frame came."""
        self._held += len(body)
        if self._held > self.max_message:
            raise FrameError(f"a message of over {self.max_message} bytes, over the limit")
        if kind in (BLOB_PART, BLOB_LAST):
            self._blob.append(body)
            if kind == BLOB_LAST:
                self._blobs.append(b"".join(self._blob))
                self._blob = []
            return None
        self._json.append(body)
        if kind == PART:
            return None
        body, blobs = b"".join(self._json), self._blobs
        self._json, self._blobs, self._held = [], [], 0
        return decode(body), blobs


class FdChannel:
    """Blocking message I/O over two raw file descriptors (the worker's side)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.max_frame = MAX_FRAME_BYTES
        self.max_message = MAX_MESSAGE_BYTES
        self.attachments: list[bytes] = []  # those of the last message received

    def send(self, message: Any, attachments: Sequence[bytes] = ()) -> None:
        """Send one message; ValueError (nothing sent) if it is over the message limit."""
        body = dumps(message)
        size = len(body) + sum(len(a) for a in attachments)
        if size > self.max_message:
            raise ValueError(
                f"this request is {size:,} bytes, over the channel's limit of "
                f"{self.max_message:,} bytes per message: send less at once (fewer or shorter "
                "prompts per llm_batch, a smaller context per rlm_query)")
        for buffer in body_frames(body, attachments, self.max_frame):
            data = memoryview(buffer)
            while data:
                data = data[os.write(self.write_fd, data):]

    def _read_exact(self, n: int) -> bytes:
        chunks: list[bytes] = []
        while n:
            chunk = os.read(self.read_fd, min(n, 1 << 20))
            if not chunk:
                raise EOFError("host closed the channel")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def recv(self) -> dict[str, Any]:
        assembler = Assembler(self.max_message)
        while True:
            kind, size = check_header(self._read_exact(HEADER.size), self.max_frame)
            done = assembler.feed(kind, self._read_exact(size))
            if done is not None:
                message, self.attachments = done
                return message
