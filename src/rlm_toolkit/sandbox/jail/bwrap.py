"""Tier 1: the worker inside bubblewrap, with every namespace unshared and a minimal root."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache

from ..plan import WORKER_DIR, LaunchPlan, clean_env
from . import cgroup
from .policy import (
    DEFAULT_SCRATCH_MB,
    ETC_FILES,
    MIB,
    PIDS_LIMIT,
    SYSTEM_DIRS,
    TMP_SIZE,
    interpreter_paths,
    lockdown_policy,
)

JAIL_WORKER = "/opt/rlm/worker"  # the worker's code, read-only
JAIL_SCRATCH = "/scratch"  # the only writable place that outlives a step
PROBE_TIMEOUT_S = 15.0
NOBODY = 65534  # the host uid and gid the jail runs as when the host is root
# Kernel-wide knobs under /proc that root could write (sysctls such as kernel.core_pattern,
# the SysRq trigger, IRQ affinity, bus and filesystem settings): read-only in the jail.
PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
                  "/proc/acpi", "/proc/scsi", "/proc/asound", "/proc/mtrr")


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


def proc_args() -> list[str]:
    """A fresh /proc for the jail's pid namespace, its kernel-wide knobs read-only."""
    args = ["--proc", "/proc"]
    for path in PROC_READ_ONLY:
        args += ["--ro-bind-try", path, path]
    return args


def scratch_args(binary: str, scratch: str, scratch_bytes: int) -> list[str]:
    """/scratch: a size-limited tmpfs (nothing reaches the host's disk, the kernel enforces
    the quota, nosuid and nodev) where bubblewrap can size one (0.8+), else the host folder."""
    if in_memory_scratch(binary):
        return ["--size", str(scratch_bytes), "--perms", "0700", "--tmpfs", JAIL_SCRATCH]
    return ["--bind", scratch, JAIL_SCRATCH]  # bubblewrap binds are nosuid and nodev


def in_memory_scratch(binary: str) -> bool:
    """Whether this bubblewrap can size a tmpfs (0.8+), so scratch and /tmp live in memory."""
    return bwrap_version(binary) >= (0, 8)


def jail_args(binary: str, scratch: str, scratch_bytes: int = DEFAULT_SCRATCH_MB * MIB,
              staged: dict[str, str] | None = None) -> list[str]:
    """Every bubblewrap option of the worker's jail, up to (not including) the command.

    `staged` maps a source folder to the place it was staged for uid 65534 (see drop_args).
    """
    modern = in_memory_scratch(binary)
    args = [
        binary,
        "--unshare-all", "--unshare-user",  # user, pid, net, ipc, uts, cgroup: no network
        "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--hostname", "rlm-sandbox",
    ]
    if modern:
        args += ["--disable-userns"]
    args += system_args()
    args += [*proc_args(), "--dev", "/dev"]
    if modern:  # a fresh, small /tmp in memory
        args += ["--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    else:  # no --size before 0.8: an unbounded tmpfs could eat host memory, so /tmp lives in
        tmp = os.path.join(scratch, ".tmp")  # scratch, under its quota
        os.makedirs(tmp, mode=0o700, exist_ok=True)
        args += ["--bind", tmp, "/tmp"]
    args += ["--dir", "/opt/rlm"]
    staged = staged or {}
    for path in interpreter_paths():  # after /tmp: a venv may live under it
        args += ["--ro-bind", staged.get(path, path), path]
    args += ["--ro-bind", staged.get(str(WORKER_DIR), str(WORKER_DIR)), JAIL_WORKER]
    args += [*scratch_args(binary, scratch, scratch_bytes), "--chdir", JAIL_SCRATCH]
    # The jail's own root and /dev read-only: no writes outside the small /tmp and /scratch.
    args += ["--remount-ro", "/dev", "--remount-ro", "/"]
    return args


# The launcher runs as root in a private mount namespace of its own (the host's is untouched)
# and binds the sources uid 65534 cannot reach (a Python under /root, say) onto the empty
# scratch folder (or, for several, onto a small tmpfs there), so bubblewrap, started as 65534,
# can bind them from there.


def reachable_by_others(path: str) -> bool:
    """Whether any user can reach `path`: every folder on the way searchable, itself readable."""
    current = os.path.realpath(path)
    try:
        if not os.stat(current).st_mode & stat.S_IROTH:
            return False
        while True:
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return False
            if current == "/":
                return True
            current = os.path.dirname(current)
    except OSError:
        return False


def _tool(name: str) -> str | None:
    return shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")


@dataclass(frozen=True)
class Drop:
    """How a root host starts bubblewrap as uid/gid 65534: an `unshare` prefix and launcher
    steps that stage the sources 65534 cannot reach (a Python under /root, say), then setpriv.
    """

    unshare: list[str] = field(default_factory=list)
    stage: list[str] = field(default_factory=list)
    setuid: list[str] = field(default_factory=list)
    staged: dict[str, str] = field(default_factory=dict)  # source -> where it was staged


def drop_args(scratch: str) -> Drop:
    """The Drop for a root host; an empty one where the host is not root or tools are missing.

    Mapping root to another uid inside the user namespace is not enough: the kernel checks the
    host uid (kernel.core_pattern, root-owned files), so the jail must not be host root.
    """
    setpriv = _tool("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return Drop()
    setuid = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    hidden = [p for p in [*interpreter_paths(), str(WORKER_DIR)] if not reachable_by_others(p)]
    if not hidden:
        return Drop(setuid=setuid)
    unshare = _tool("unshare")
    if unshare is None:
        return Drop()
    if len(hidden) == 1:  # straight onto the (empty) scratch folder
        staged, stage = {hidden[0]: scratch}, []
    else:
        staged = {src: f"{scratch}/{i}" for i, src in enumerate(hidden)}
        stage = [f"tmpfs:{scratch}"]
    for src, dst in staged.items():
        stage += [f"bind:{src}", dst]
    return Drop([unshare, "--mount", "--propagation", "private", "--"], stage, setuid, staged)


def launch_prefix(drop: Drop, cgroup_steps: list[str]) -> list[str]:
    """unshare (if staging), one launcher for the cgroup and the staging, then setpriv."""
    return [*drop.unshare, *cgroup.launch_argv([*cgroup_steps, *drop.stage]), *drop.setuid]


def worker_command() -> list[str]:
    return [sys.executable, "-I", "-B", f"{JAIL_WORKER}/main.py"]


def bwrap_plan(binary: str, scratch: str, memory_limit_mb: int | None,
               scratch_limit_mb: int | None = None) -> LaunchPlan:
    """The launch plan of the bubblewrap tier."""
    scratch_mb = scratch_limit_mb or DEFAULT_SCRATCH_MB
    in_memory = in_memory_scratch(binary)  # else scratch is a host folder 65534 cannot use
    drop = drop_args(scratch) if in_memory and drops_uid(binary) else Drop()
    memory_bytes = None
    if memory_limit_mb:  # the jail's tmpfs pages are charged to its cgroup as well
        memory_bytes = memory_limit_mb * MIB + (scratch_mb * MIB + TMP_SIZE if in_memory else 0)
    support = cgroup.detect()
    argv = [*launch_prefix(drop, cgroup.steps(support, scratch, memory_bytes, PIDS_LIMIT)),
            *jail_args(binary, scratch, scratch_mb * MIB, drop.staged), "--",
            *worker_command()]
    notes = [f"bubblewrap {'.'.join(map(str, bwrap_version(binary)))}"]
    notes.append(f"jail uid {NOBODY} on the host" if drop.setuid else
                 f"jail uid {os.geteuid()} on the host (the host's own)")
    return LaunchPlan(
        tier="bwrap",
        argv=argv,
        env=clean_env(JAIL_SCRATCH),
        cwd=scratch,
        lockdown=lockdown_policy(memory_limit_mb, scratch_limit_mb=scratch_mb),
        notes=notes,
    )


def _probe(binary: str, drop: bool) -> str | None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rlm-probe-") as scratch:
        how = drop_args(scratch) if drop else Drop()
        argv = [*launch_prefix(how, []), *jail_args(binary, scratch, MIB, how.staged), "--",
                sys.executable, "-I", "-S", "-c", "pass"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=clean_env("/"),
                                  cwd=scratch, timeout=PROBE_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bubblewrap could not run: {exc}"
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        return "bubblewrap cannot create the jail here: " + (detail[-1] if detail else
                                                             f"exit code {done.returncode}")
    return None


@lru_cache(maxsize=4)
def _probed(binary: str) -> tuple[str | None, bool]:
    """(why the jail cannot start, or None; whether it starts as uid 65534 from a root host)."""
    if drop_args("/").setuid and _probe(binary, True) is None:
        return None, True
    return _probe(binary, False), False


def probe_bwrap(binary: str) -> str | None:
    """Start the interpreter inside the real jail once; None if it works, else why not."""
    return _probed(binary)[0]


def drops_uid(binary: str) -> bool:
    """Whether the jail runs as uid/gid 65534 (the host is root, bubblewrap can size the
    scratch tmpfs, and the jail works so)."""
    return in_memory_scratch(binary) and _probed(binary)[1]
