"""Tier 2: the worker restricts itself with Landlock where bubblewrap cannot run (containers)."""

from __future__ import annotations

from ..plan import WORKER_DIR, LaunchPlan, clean_env, python_command
from ..worker.lockdown import landlock_abi
from . import cgroup
from .policy import (
    ETC_FILES,
    MIB,
    PIDS_LIMIT,
    SYSTEM_DIRS,
    interpreter_paths,
    lockdown_policy,
)

# Devices Python may read; /dev/null may also be written.
READ_DEVICES = ("/dev/urandom", "/dev/random", "/dev/zero")


def landlock_paths(scratch: str) -> dict[str, list[str]]:
    """What the worker may read (system, interpreter, its own code) and write (scratch)."""
    ro = [*SYSTEM_DIRS, *ETC_FILES, *interpreter_paths(), str(WORKER_DIR), *READ_DEVICES,
          "/proc/self"]
    return {"ro": ro, "rw": [scratch, "/dev/null"]}


def landlock_plan(scratch: str, memory_limit_mb: int | None,
                  scratch_limit_mb: int | None = None) -> LaunchPlan:
    """The launch plan of the Landlock tier: a plain process that locks itself at start.

    Where a cgroup is writable, a tiny launcher first puts it in its own (memory, pids).
    """
    abi = landlock_abi()
    notes = [f"Landlock ABI {abi}"]
    if abi < 4:
        notes.append("no Landlock TCP rules (ABI < 4): seccomp still denies every socket")
    if abi < 6:
        notes.append("no Landlock signal scoping (ABI < 6): seccomp still limits kill()")
    memory_bytes = memory_limit_mb * MIB if memory_limit_mb else None
    prefix = cgroup.launcher(cgroup.detect(), scratch, memory_bytes, PIDS_LIMIT)
    return LaunchPlan(
        tier="landlock",
        argv=[*prefix, *python_command()],
        env=clean_env(scratch),
        cwd=scratch,
        lockdown=lockdown_policy(memory_limit_mb, landlock_paths(scratch), scratch_limit_mb),
        notes=notes,
    )
