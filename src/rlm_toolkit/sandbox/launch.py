"""How the worker process is started: the command, its environment and its lockdown.

Every tier starts the worker with a clean environment (no API keys, no host variables) in a
private scratch directory. The jailing tiers are added on top of this plan.
"""

from __future__ import annotations

import os
import sys

from .plan import WORKER_DIR, WORKER_MAIN, LaunchPlan, clean_env, python_command


def unsafe_local_plan(scratch: str) -> LaunchPlan:
    """A separate process with a clean environment and no jail. For trusted code only.

    On Linux it still dies with the host (parent-death signal), so a crash of the host never
    leaves a worker spinning; nothing else is locked down.
    """
    lockdown = ({"die_with_parent": True, "drop_privileges": False, "seccomp": False}
                if sys.platform == "linux" else None)
    return LaunchPlan("unsafe-local", python_command(), clean_env(scratch), scratch, lockdown)


def plan_launch(sandbox: str, scratch: str, memory_limit_mb: int | None = None) -> LaunchPlan:
    """The launch plan for the requested sandbox mode."""
    if sandbox == "unsafe-local":
        return unsafe_local_plan(scratch)
    from .jail import plan_jailed  # the isolation tiers

    return plan_jailed(sandbox, scratch, memory_limit_mb)


def ensure_scratch(base: str | None = None) -> str:
    """A fresh private scratch directory (mode 0700) for one worker."""
    import tempfile

    path = tempfile.mkdtemp(prefix="rlm-scratch-", dir=base)
    os.chmod(path, 0o700)
    return path


__all__ = ["WORKER_DIR", "WORKER_MAIN", "LaunchPlan", "clean_env", "ensure_scratch",
           "plan_launch", "python_command", "unsafe_local_plan"]
