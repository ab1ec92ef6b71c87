"""The context as one sealed, read-only memory file handed to the worker.

The data crosses into the worker once, through a sealed memfd it maps read-only, instead of
through the pipe on every step; restarts reuse the same memfd. Where memfd is missing (macOS,
for the unsafe-local opt-in) the same bytes go into a private read-only file instead: on POSIX
an unlinked file whose read-only descriptor is passed; on Windows, which cannot pass
descriptors, a path the worker opens and the host deletes when the worker closes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .worker.channel import decode_value, dumps, safe_text
from .worker.frames import ContextKind as Kind


@dataclass(frozen=True)
class EncodedContext:
    """A context value as the worker receives it: its kind and its bytes."""

    kind: Kind
    data: bytes


def encode_context(value: Any) -> EncodedContext:
    """The one encoding of a context value: str as UTF-8, bytes as is, the rest as JSON.

    JSON uses `default=str` (a datetime becomes its text). Lone surrogates become U+FFFD.
    ConfigError for a value JSON cannot hold (a circular or too deeply nested structure).
    """
    if isinstance(value, EncodedContext):
        return value
    if isinstance(value, str):
        try:
            return EncodedContext("str", value.encode("utf-8"))
        except UnicodeEncodeError:
            return EncodedContext("str", safe_text(value).encode("utf-8"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return EncodedContext("bytes", bytes(value))
    try:
        return EncodedContext("json", dumps(value))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConfigError(
            f"a context of type {type(value).__name__} cannot be passed to the REPL "
            f"({type(exc).__name__}: {str(exc)[:200]}): use str, bytes, or JSON-like lists "
            "and dicts without cycles"
        ) from None


def received_context(kind: str, data: bytes) -> EncodedContext:
    """A context the worker sent (a child run's), checked and made safe before it is reused.

    FrameError (from the channel) for an unknown kind or JSON that does not parse.
    """
    if kind == "bytes":
        return EncodedContext("bytes", data)
    if kind == "str":
        try:
            data.decode("utf-8")  # strict: also refuses encoded surrogates
        except UnicodeDecodeError:
            data = decode_value("str", data).encode("utf-8")
        return EncodedContext("str", data)
    return EncodedContext("json", dumps(decode_value(kind, data)))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def has_memfd() -> bool:
    """Whether sealed memfds exist here (Linux)."""
    import importlib.util

    return hasattr(os, "memfd_create") and importlib.util.find_spec("fcntl") is not None


def _sealed_memfd(data: bytes) -> int:
    import fcntl

    seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
    fd = os.memfd_create("rlm-context", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        _write_all(fd, data)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _readonly_file(data: bytes) -> tuple[int, str]:
    """A read-only descriptor of a private file holding `data`, and the file's folder."""
    folder = tempfile.mkdtemp(prefix="rlm-context-")  # mode 0700
    path = os.path.join(folder, "context")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o400)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        readonly = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if sys.platform != "win32":  # the open descriptor keeps the data; nothing stays on disk
        shutil.rmtree(folder, ignore_errors=True)
    return readonly, folder


@dataclass
class ContextBlob:
    """A sealed memfd (or read-only file) holding the encoded context."""

    kind: Kind
    size: int
    fd: int
    path: str | None = None  # set where the worker must open a file by name (Windows)
    _folder: str | None = None

    @classmethod
    def from_value(cls, value: Any, use_memfd: bool | None = None) -> ContextBlob:
        encoded = encode_context(value)
        kind, data = encoded.kind, encoded.data
        if has_memfd() if use_memfd is None else use_memfd:
            return cls(kind, len(data), _sealed_memfd(data))
        fd, folder = _readonly_file(data)
        if sys.platform == "win32":
            return cls(kind, len(data), fd, os.path.join(folder, "context"), folder)
        return cls(kind, len(data), fd)

    @property
    def pass_fds(self) -> tuple[int, ...]:
        """The descriptors the worker inherits: the blob's, unless it goes by path."""
        return () if self.path is not None or self.fd < 0 else (self.fd,)

    def init_fields(self) -> dict[str, Any]:
        """How the worker finds the context, for its `init` frame."""
        where: dict[str, Any] = ({"context_path": self.path} if self.path is not None
                                 else {"context_fd": self.fd})
        return {**where, "context_kind": self.kind, "context_size": self.size}

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
