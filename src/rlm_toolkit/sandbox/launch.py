"""How the worker process is started: the command, its environment and its lockdown.

Every tier starts the worker with a clean environment (no API keys, no host variables) in a
private scratch directory. The jailing tiers are added on top of this plan.
"""

from __future__ import annotations

import os
import sys

from .plan import WORKER_DIR, WORKER_MAIN, LaunchPlan, clean_env, python_command
from .quota import SCRATCH_PREFIX, host_tag, reap_stale_scratch, scrub_scratch


def unsafe_local_plan(scratch: str) -> LaunchPlan:
    """A separate process with a clean environment and no jail. For trusted code only.

    On Linux it still dies with the host (parent-death signal), so a crash of the host never
    leaves a worker spinning; nothing else is locked down.
    """
    lockdown = ({"die_with_parent": True, "drop_privileges": False, "seccomp": False}
                if sys.platform == "linux" else None)
    return LaunchPlan("unsafe-local", python_command(), clean_env(scratch), scratch, lockdown)


def plan_launch(sandbox: str, scratch: str, memory_limit_mb: int | None = None, *,
                scratch_limit_mb: int | None = None) -> LaunchPlan:
    """The launch plan for the requested sandbox mode.

    `scratch_limit_mb` sizes the in-memory scratch of the bubblewrap tier (the kernel then
    enforces the quota); the other tiers leave it to the host's watcher.
    """
    if sandbox == "unsafe-local":
        return unsafe_local_plan(scratch)
    from .jail import plan_jailed  # the isolation tiers

    return plan_jailed(sandbox, scratch, memory_limit_mb, scratch_limit_mb=scratch_limit_mb)


def ensure_scratch(base: str | None = None) -> str:
    """A fresh private scratch directory (mode 0700) for one worker.

    Its name carries this host's pid and start time, so the folders of a host that died
    (killed before it could clean up) are removed here, when the next worker starts.
    """
    import tempfile

    reap_stale_scratch(base)
    path = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{host_tag()}-", dir=base)
    os.chmod(path, 0o700)
    return path


__all__ = ["WORKER_DIR", "WORKER_MAIN", "LaunchPlan", "clean_env", "ensure_scratch",
           "plan_launch", "python_command", "reap_stale_scratch", "scrub_scratch",
           "unsafe_local_plan"]
