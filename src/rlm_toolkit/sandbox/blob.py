"""The context as one sealed, read-only memory file handed to the worker.

The data crosses into the worker once, through a sealed memfd it maps read-only, instead of
through the pipe on every step; restarts reuse the same memfd.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["str", "bytes", "json"]
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


def encode_context(value: Any) -> tuple[Kind, bytes]:
    """The worker-side kind and the bytes of a context value."""
    if isinstance(value, str):
        return "str", value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes", bytes(value)
    try:
        return "json", json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"context of type {type(value).__name__} cannot be passed to the REPL: use str, "
            f"bytes, or JSON-like lists and dicts ({exc})"
        ) from None


@dataclass
class ContextBlob:
    """A sealed memfd holding the encoded context."""

    kind: Kind
    size: int
    fd: int

    @classmethod
    def from_value(cls, value: Any) -> ContextBlob:
        kind, data = encode_context(value)
        fd = os.memfd_create("rlm-context", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
        except BaseException:
            os.close(fd)
            raise
        return cls(kind, len(data), fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
