"""How the worker process is started: the command, its environment and its lockdown.

Every tier starts the worker with a clean environment (no API keys, no host variables) in a
private scratch directory. The jailing tiers are added on top of this plan.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKER_DIR = Path(__file__).resolve().parent / "worker"
WORKER_MAIN = WORKER_DIR / "main.py"


@dataclass
class LaunchPlan:
    """The worker's command line, environment, working directory and in-worker lockdown."""

    tier: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    lockdown: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def clean_env(scratch: str) -> dict[str, str]:
    """The only variables the worker sees: nothing inherited from the host."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    if sys.platform == "win32" and "SYSTEMROOT" in os.environ:  # Windows Python needs it
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return env


def python_command() -> list[str]:
    """The interpreter command for the worker: isolated mode, no user site, no env vars."""
    return [sys.executable, "-I", "-B", str(WORKER_MAIN)]


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
