"""The worker's process tree seen from the host through /proc: its CPU time, stop, resume, kill.

The jailed worker is a tree (bubblewrap's processes, then the interpreter, in other sessions
and a PID namespace), so a signal to one process group does not reach it all. These functions
walk the tree by parent pid. Stopping is done top-down, each process seen stopped before its
children are listed: a stopped process creates no children (the kernel restarts a fork that
races a pending signal), so the set found is complete. Linux only; elsewhere they find nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

PROC = "/proc"
STOP_WAIT_S = 2.0  # how long to wait for a process to show as stopped
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat the host needs."""

    pid: int
    state: str
    ppid: int
    cpu_ticks: int  # user + system, all threads, plus reaped children


def read_stat(pid: int) -> ProcStat | None:
    """One process's stat, or None when it is gone (or /proc is missing)."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2:].split()  # after "pid (comm) ", comm may hold spaces
    try:
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        return ProcStat(pid, fields[0].decode(), int(fields[1]), ticks)
    except (IndexError, ValueError):
        return None


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir(PROC)
    except OSError:
        return children
    for name in names:
        if name.isdigit():
            stat = read_stat(int(name))
            if stat is not None:
                children.setdefault(stat.ppid, []).append(stat.pid)
    return children


def _children_of(pid: int) -> list[int] | None:
    """The children of `pid` from its threads' `children` files (they list only the tree asked
    about, where the full /proc scan reads every process); None where the kernel has no such
    file, or the process is gone."""
    kids: list[int] = []
    try:
        for tid in os.listdir(f"{PROC}/{pid}/task"):
            with open(f"{PROC}/{pid}/task/{tid}/children", "rb") as fh:
                kids.extend(int(x) for x in fh.read().split())
    except (OSError, ValueError):
        return None
    return kids


def _children_lookup(pids: list[int]) -> Callable[[int], list[int]]:
    """How to find a process's children: its `children` files, else one scan of all /proc."""
    if pids and _children_of(pids[0]) is not None:
        return lambda pid: _children_of(pid) or []
    children = _children_map()
    return lambda pid: children.get(pid, [])


def tree(root: int) -> list[int]:
    """`root` and every live descendant, parents before children."""
    children = _children_lookup([root])
    found, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(children(pid))
    return found if read_stat(root) is not None else []


def cpu_seconds(root: int) -> float:
    """CPU time used so far by the tree under `root`: every thread, and reaped children."""
    return cpu_seconds_of(tree(root))


def cpu_seconds_of(pids: list[int]) -> float:
    """CPU time used so far by these processes (every thread, and their reaped children)."""
    ticks = 0
    for pid in pids:
        stat = read_stat(pid)
        if stat is not None:
            ticks += stat.cpu_ticks
    return ticks / _TICK


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _wait_stopped(pid: int) -> None:
    deadline = time.monotonic() + STOP_WAIT_S
    while time.monotonic() < deadline:
        stat = read_stat(pid)
        if stat is None or stat.state in "TtZX":
            return
        time.sleep(0.0005)


def stop(root: int) -> list[int]:
    """Stop (SIGSTOP) the whole tree under `root`, level by level; the pids, parents first."""
    stopped: list[int] = []
    level = [root] if read_stat(root) is not None else []
    while level:
        for pid in level:
            _signal(pid, signal.SIGSTOP)
        for pid in level:
            _wait_stopped(pid)
        stopped += level
        children = _children_lookup(level)  # those made before their parent stopped
        seen = set(stopped)
        level = [c for pid in level for c in children(pid) if c not in seen]
    return stopped


def resume(pids: list[int]) -> None:
    """Let stopped processes run again (SIGCONT), children first."""
    for pid in reversed(pids):
        _signal(pid, signal.SIGCONT)


def is_namespace_init(pid: int) -> bool:
    """Whether `pid` is process 1 of a PID namespace of its own (bubblewrap's jail init)."""
    try:
        with open(f"{PROC}/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"NSpid:"):
                    ids = line.split()[1:]
                    return len(ids) > 1 and ids[-1] == b"1"
    except OSError:
        pass
    return False


def kill(root: int) -> list[int]:
    """SIGKILL the whole tree under `root`; the pids killed.

    A PID namespace's init is killed first: the kernel then ends every process inside it at
    once, so a host that dies part-way through leaves no stopped process behind. The rest is
    stopped top-down (so none escapes by forking), then killed.
    """
    for pid in tree(root):
        if is_namespace_init(pid):
            _signal(pid, signal.SIGKILL)
    pids = stop(root)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    for pid in reversed(pids):  # a SIGKILLed process that was stopped needs no SIGCONT,
        _signal(pid, signal.SIGCONT)  # but a traced or odd one might: harmless
    return pids
