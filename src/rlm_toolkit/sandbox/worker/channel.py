"""Length-prefixed JSON frames between host and worker.

A frame is a 4-byte big-endian length then that many bytes of UTF-8 JSON. Used by both sides;
standard library only, since it also runs inside the worker.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 64 * 1024 * 1024


class FrameError(Exception):
    """A frame was malformed, too large, or the stream ended mid-frame."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, default=str).encode("utf-8")
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, or nested too deep
        raise FrameError(f"malformed frame: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise FrameError("malformed frame: not an object with an 'op'")
    return message


class FdChannel:
    """Blocking frame I/O over two raw file descriptors (the worker's side)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd

    def send(self, message: dict[str, Any]) -> None:
        data = memoryview(encode(message))
        while data:
            written = os.write(self.write_fd, data)
            data = data[written:]

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
        (size,) = HEADER.unpack(self._read_exact(HEADER.size))
        if size > MAX_FRAME_BYTES:
            raise FrameError(f"frame of {size} bytes is over the limit")
        return decode(self._read_exact(size))
