"""Tier 1: the worker inside bubblewrap, with every namespace unshared and a minimal root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache

from ..plan import WORKER_DIR, LaunchPlan, clean_env
from .policy import ETC_FILES, SYSTEM_DIRS, interpreter_paths, lockdown_policy

JAIL_WORKER = "/opt/rlm/worker"  # the worker's code, read-only
JAIL_SCRATCH = "/scratch"  # the only writable place that outlives a step
TMP_SIZE = 64 * 1024 * 1024  # the fresh /tmp is a small tmpfs
PROBE_TIMEOUT_S = 15.0


def bwrap_path() -> str | None:
    """The bubblewrap binary, if installed."""
    return shutil.which("bwrap")


@lru_cache(maxsize=4)
def bwrap_version(binary: str) -> tuple[int, ...]:
    """bubblewrap's version as a tuple, (0,) when it cannot be read."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=PROBE_TIMEOUT_S).stdout
    except (OSError, subprocess.SubprocessError):
        return (0,)
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(x) for x in match.groups() if x is not None) if match else (0,)


def system_args() -> list[str]:
    """Read-only /usr, the /bin and /lib* links, and the few /etc files Python needs."""
    args: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    return args


def jail_args(binary: str, scratch: str) -> list[str]:
    """Every bubblewrap option of the worker's jail, up to (not including) the command."""
    modern = bwrap_version(binary) >= (0, 8)
    args = [
        binary,
        "--unshare-all", "--unshare-user",  # user, pid, net, ipc, uts, cgroup: no network
        "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--hostname", "rlm-sandbox",
    ]
    if modern:
        args += ["--disable-userns"]
    args += system_args()
    args += ["--proc", "/proc", "--dev", "/dev"]
    if modern:  # a fresh, small /tmp in memory
        args += ["--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    else:  # no --size before 0.8: an unbounded tmpfs could eat host memory, so /tmp lives in
        tmp = os.path.join(scratch, ".tmp")  # scratch, under its quota
        os.makedirs(tmp, mode=0o700, exist_ok=True)
        args += ["--bind", tmp, "/tmp"]
    args += ["--dir", "/opt/rlm"]
    for path in interpreter_paths():  # after /tmp: a venv may live under it
        args += ["--ro-bind", path, path]
    args += ["--ro-bind", str(WORKER_DIR), JAIL_WORKER]
    args += ["--bind", scratch, JAIL_SCRATCH, "--chdir", JAIL_SCRATCH]
    # The jail's own root and /dev read-only: no writes outside the small /tmp and /scratch.
    args += ["--remount-ro", "/dev", "--remount-ro", "/"]
    return args


def worker_command() -> list[str]:
    return [sys.executable, "-I", "-B", f"{JAIL_WORKER}/main.py"]


def bwrap_plan(binary: str, scratch: str, memory_limit_mb: int | None) -> LaunchPlan:
    """The launch plan of the bubblewrap tier."""
    argv = [*jail_args(binary, scratch), "--", *worker_command()]
    return LaunchPlan(
        tier="bwrap",
        argv=argv,
        env=clean_env(JAIL_SCRATCH),
        cwd=scratch,
        lockdown=lockdown_policy(memory_limit_mb),
        notes=[f"bubblewrap {'.'.join(map(str, bwrap_version(binary)))}"],
    )


@lru_cache(maxsize=4)
def probe_bwrap(binary: str) -> str | None:
    """Start the interpreter inside the real jail once; None if it works, else why not."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rlm-probe-") as scratch:
        argv = [*jail_args(binary, scratch), "--", sys.executable, "-I", "-S", "-c", "pass"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=clean_env("/"),
                                  timeout=PROBE_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bubblewrap could not run: {exc}"
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        return "bubblewrap cannot create the jail here: " + (detail[-1] if detail else
                                                             f"exit code {done.returncode}")
    return None
