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
PIDS_LIMIT = 256  # tasks (threads and processes) in the worker's cgroup, where one exists
TMP_SIZE = 64 * MIB  # the bwrap jail's fresh /tmp is a tmpfs of this size
DEFAULT_SCRATCH_MB = 1024  # the scratch size when the host names none
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


def lockdown_policy(memory_limit_mb: int | None, landlock: dict[str, Any] | None = None,
                    scratch_limit_mb: int | None = None) -> dict[str, Any]:
    """The policy the worker applies to itself before running any model code.

    One file may never be larger than the scratch quota (nor FILE_SIZE_LIMIT).
    """
    fsize = FILE_SIZE_LIMIT if not scratch_limit_mb else min(FILE_SIZE_LIMIT,
                                                             scratch_limit_mb * MIB)
    return {
        "rlimits": {
            "as": int(memory_limit_mb * MIB) if memory_limit_mb else None,
            "fsize": fsize,
            "nofile": OPEN_FILES_LIMIT,
            "core": 0,
        },
        "landlock": landlock,
        "die_with_parent": True,
        "drop_privileges": True,
        "seccomp": True,
    }
