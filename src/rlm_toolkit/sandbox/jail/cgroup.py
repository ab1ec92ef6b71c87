"""The worker's own cgroup: a memory limit that counts shared memory and tmpfs, and a task cap.

Where this process may create cgroups (cgroup v2 with memory and pids delegated to its cgroup,
or writable cgroup v1 memory and pids hierarchies, as for root in most containers), every
worker gets a child cgroup named after its scratch folder. A tiny `/bin/sh` launcher creates
it, writes the limits, moves itself in and only then execs the jail, so no code of the worker
ever runs outside it. Where none is writable, `detect()` says so and nothing is enforced.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = "/sys/fs/cgroup"
PREFIX = "rlm-"
# The launcher: `mkdir:DIR`, `FILE=VALUE`, `join:FILE`, `tmpfs:DIR` and `bind:SRC DST` steps,
# then `--` and the command it execs (same pid). Only a missing folder or a mount forks.
LAUNCHER = (
    'while [ $# -gt 0 ]; do case $1 in '
    '--) shift; exec "$@";; '
    'mkdir:*) [ -d "${1#mkdir:}" ] || mkdir "${1#mkdir:}" || exit 125;; '
    'join:*) echo $$ > "${1#join:}" || exit 125;; '
    'tmpfs:*) mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev rlm-stage "${1#tmpfs:}" '
    '|| exit 125;; '
    'bind:*) mount --bind -o X-mount.mkdir "${1#bind:}" "$2" || exit 125; shift;; '
    '*=*) printf "%s\\n" "${1#*=}" > "${1%%=*}" || exit 125;; '
    'esac; shift; done; exit 125'
)
SHELL = "/bin/sh"


@dataclass(frozen=True)
class CgroupSupport:
    """Which cgroup mechanism can limit the worker here, and where its cgroups go."""

    version: str  # "v2", "v1" or "none"
    memory_parent: str | None
    pids_parent: str | None
    reason: str

    @property
    def memory(self) -> bool:
        return self.memory_parent is not None

    @property
    def pids(self) -> bool:
        return self.pids_parent is not None


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per controller ("" for the v2 unified hierarchy)."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup", encoding="ascii") as fh:
        for line in fh:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def _writable(directory: str, *files: str) -> bool:
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        return False
    return all(os.path.exists(os.path.join(directory, f)) for f in files)


def _v2_root() -> str | None:
    for candidate in (ROOT, os.path.join(ROOT, "unified")):
        if os.path.exists(os.path.join(candidate, "cgroup.controllers")):
            return candidate
    return None


def detect() -> CgroupSupport:
    """The best cgroup mechanism this process can use for its workers."""
    own = _own_paths()
    v2 = _v2_root()
    if v2 is not None and "" in own:
        parent = os.path.join(v2, own[""].lstrip("/"))
        try:
            delegated = Path(parent, "cgroup.subtree_control").read_text().split()
        except OSError:
            delegated = []
        if {"memory", "pids"} <= set(delegated) and _writable(parent, "cgroup.procs"):
            return CgroupSupport("v2", parent, parent, f"cgroup v2 under {parent}")
    mem_dir = os.path.join(ROOT, "memory", own.get("memory", "").lstrip("/"))
    pids_dir = os.path.join(ROOT, "pids", own.get("pids", "").lstrip("/"))
    mem = mem_dir if "memory" in own and _writable(mem_dir, "memory.limit_in_bytes") else None
    pids = pids_dir if "pids" in own and _writable(pids_dir, "cgroup.procs") else None
    if mem or pids:
        parts = [p for p, ok in (("memory", mem), ("pids", pids)) if ok]
        return CgroupSupport("v1", mem, pids, f"cgroup v1 ({', '.join(parts)}) writable here")
    why = ("cgroup v2 is mounted but memory and pids are not delegated to this process's "
           "cgroup, and no cgroup v1 hierarchy is writable" if v2 else
           "no writable cgroup hierarchy (not root, and no delegated cgroup v2)")
    return CgroupSupport("none", None, None, why)


def group_name(scratch: str) -> str:
    """The worker's cgroup name: its scratch folder's, so a dead host's is easy to spot."""
    return PREFIX + os.path.basename(scratch.rstrip("/")).removeprefix("rlm-scratch-")


def steps(support: CgroupSupport, scratch: str, memory_bytes: int | None,
          pids_max: int) -> list[str]:
    """The launcher steps that put the command into its own cgroup ([] where none exists).

    The folders are made here, so the launcher only forks `mkdir` when one was removed.
    """
    name = group_name(scratch)
    out: list[str] = []
    dirs: list[str] = []
    if support.version == "v2" and support.memory_parent:
        path = os.path.join(support.memory_parent, name)
        dirs.append(path)
        out += [f"mkdir:{path}", f"{path}/pids.max={pids_max}"]
        if memory_bytes is not None:
            out += [f"{path}/memory.max={memory_bytes}", f"{path}/memory.swap.max=0"]
        out += [f"join:{path}/cgroup.procs"]
    elif support.version == "v1":
        if support.memory_parent and memory_bytes is not None:
            path = os.path.join(support.memory_parent, name)
            dirs.append(path)
            out += [f"mkdir:{path}", f"{path}/memory.limit_in_bytes={memory_bytes}"]
            if os.path.exists(os.path.join(support.memory_parent, "memory.memsw.limit_in_bytes")):
                out += [f"{path}/memory.memsw.limit_in_bytes={memory_bytes}"]
            out += [f"join:{path}/cgroup.procs"]
        if support.pids_parent:
            path = os.path.join(support.pids_parent, name)
            dirs.append(path)
            out += [f"mkdir:{path}", f"{path}/pids.max={pids_max}", f"join:{path}/cgroup.procs"]
    for path in dirs:
        with contextlib.suppress(OSError):
            os.makedirs(path, exist_ok=True)
    return out


def launch_argv(launch_steps: list[str]) -> list[str]:
    """The argv prefix that runs `launch_steps` and then execs the command after it."""
    if not launch_steps:
        return []
    return [SHELL, "-c", LAUNCHER, "rlm-launch", *launch_steps, "--"]


def launcher(support: CgroupSupport, scratch: str, memory_bytes: int | None,
             pids_max: int) -> list[str]:
    """The argv prefix that puts the command into its own cgroup, or [] where none exists."""
    return launch_argv(steps(support, scratch, memory_bytes, pids_max))


def _dirs(support: CgroupSupport) -> list[str]:
    return sorted({p for p in (support.memory_parent, support.pids_parent) if p})


def release(scratch: str, support: CgroupSupport | None = None) -> None:
    """Remove the worker's cgroups once empty (a live worker's stay: rmdir refuses them)."""
    support = support or detect()
    name = group_name(scratch)
    for parent in _dirs(support):
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(parent, name))


def reap(alive: Callable[[str], bool], support: CgroupSupport | None = None) -> int:
    """Remove the empty cgroups of hosts that are gone; `alive(name)` says whose still run."""
    support = support or detect()
    removed = 0
    for parent in _dirs(support):
        with contextlib.suppress(OSError), os.scandir(parent) as listing:
            for entry in listing:
                if entry.name.startswith(PREFIX) and entry.is_dir(follow_symlinks=False) \
                        and not alive(entry.name[len(PREFIX):]):
                    with contextlib.suppress(OSError):
                        os.rmdir(entry.path)
                        removed += 1
    return removed
