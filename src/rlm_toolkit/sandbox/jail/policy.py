"""What every jailing tier shares: the paths the worker may read and the in-worker lockdown."""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path
from typing import Any

from ...errors import SandboxUnavailable

MIB = 1024 * 1024
FILE_SIZE_LIMIT = 256 * MIB  # RLIMIT_FSIZE: one file can never fill the disk
OPEN_FILES_LIMIT = 256  # RLIMIT_NOFILE
# The few /etc files Python needs: the dynamic loader's cache and the local time zone.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
# Top-level system directories that hold libraries and nothing secret.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def interpreter_paths() -> list[str]:
    """The directories the interpreter needs: its prefix, the venv, and site-packages.

    Never `/` and never the home directory itself: only the exact paths are exposed.
    """
    candidates = [sys.base_prefix, sys.prefix, *site.getsitepackages()]
    candidates.append(str(Path(os.path.realpath(sys.executable)).parent))
    home = os.path.realpath(os.path.expanduser("~"))
    out: list[str] = []
    for raw in candidates:
        path = os.path.realpath(raw)
        if not os.path.isdir(path) or _under(path, "/usr"):
            continue
        if path in ("/", home):
            raise SandboxUnavailable(
                f"the Python interpreter lives at {path}, which would expose "
                f"{'the whole filesystem' if path == '/' else 'your home directory'} to the "
                "sandbox; use a virtual environment or a Python installed under /usr or /opt"
            )
        out.append(path)
    out.sort(key=len)
    kept: list[str] = []
    for path in out:  # drop paths already inside another one
        if not any(_under(path, k) for k in kept):
            kept.append(path)
    return kept


def lockdown_policy(memory_limit_mb: int | None, landlock: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """The policy the worker applies to itself before running any model code."""
    return {
        "rlimits": {
            "as": int(memory_limit_mb * MIB) if memory_limit_mb else None,
            "fsize": FILE_SIZE_LIMIT,
            "nofile": OPEN_FILES_LIMIT,
            "core": 0,
        },
        "landlock": landlock,
        "die_with_parent": True,
        "drop_privileges": True,
        "seccomp": True,
    }
