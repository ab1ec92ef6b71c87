"""The scratch quota: how much the worker has written to its scratch directory.

RLIMIT_FSIZE caps each file, not how many there are, so the host measures the directory while
the worker lives and stops a worker that writes past the quota (bytes on disk or entries).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Usage:
    """What a scratch directory holds: bytes on disk and entries (files, dirs, links)."""

    bytes: int
    entries: int


def scratch_usage(root: str, stop_bytes: int, stop_entries: int) -> Usage:
    """Bytes on disk and entries under `root`; stops counting once past either limit."""
    used = entries = 0
    stack = [root]
    while stack:
        try:
            listing = os.scandir(stack.pop())
        except OSError:
            continue
        with listing:
            for entry in listing:
                entries += 1
                try:
                    st = entry.stat(follow_symlinks=False)
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                except OSError:
                    continue
                blocks = getattr(st, "st_blocks", None)  # real usage: sparse files count less
                used += blocks * 512 if blocks is not None else st.st_size
                if used > stop_bytes or entries > stop_entries:
                    return Usage(used, entries)
    return Usage(used, entries)


def over_quota(usage: Usage, limit_bytes: int, max_entries: int) -> str | None:
    """Why `usage` breaks the quota, or None."""
    if usage.bytes > limit_bytes:
        return (f"the code wrote over {limit_bytes // MIB} MB to its scratch directory "
                "(the scratch quota)")
    if usage.entries > max_entries:
        return f"the code created over {max_entries} files in its scratch directory"
    return None


def empty_dir(root: str) -> None:
    """Remove everything inside `root`, keeping `root` itself."""
    with os.scandir(root) as listing:
        for entry in listing:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
