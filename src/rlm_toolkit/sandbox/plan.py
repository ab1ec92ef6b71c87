"""What every tier's launch plan is made of: the worker's files, its command, its environment.

Both `launch` (which picks a tier) and `jail/*` (which builds the jailed plans) import from
here, so neither imports the other at module level.
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
