"""The host finds a worker's whole process tree (children of every thread, grandchildren) and
kills all of it, judged by what /proc says afterwards."""

from __future__ import annotations

import subprocess
import sys
import time

from rlm_toolkit.sandbox import proctree

SPAWNER = """
import subprocess, sys, threading, time
subprocess.Popen(["sleep", "60"])  # a child of the main thread
t = threading.Thread(target=lambda: subprocess.Popen(["sleep", "60"]))  # one of another thread
t.start(); t.join()
subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60"])  # and grandchildren
print("ready", flush=True)
time.sleep(60)
"""


def test_tree_holds_children_of_every_thread_and_kill_ends_them_all() -> None:
    root = subprocess.Popen([sys.executable, "-c", SPAWNER], stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout is not None and root.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while len(pids := proctree.tree(root.pid)) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(pids) == 6 and pids[0] == root.pid
        assert sorted(proctree.kill(root.pid)) == sorted(pids)
        root.wait(10)

        def alive() -> list[int]:  # a SIGKILLed process may still be running its exit
            return [pid for pid in pids[1:] if (s := proctree.read_stat(pid)) is not None
                    and s.state not in "ZX" and s.ppid in (root.pid, 1, *pids)]

        deadline = time.monotonic() + 10
        while alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive() == []
    finally:
        root.kill()
        root.wait()


def test_a_jail_stopped_and_left_half_killed_ends_with_its_namespace_init() -> None:
    """kill() first ends bubblewrap's PID-namespace init: the kernel then ends every process
    inside the jail, so a host that dies before the rest of kill() leaves no stopped process."""
    import asyncio

    import pytest

    from rlm_toolkit.sandbox import Worker, WorkerOptions
    from rlm_toolkit.sandbox.jail.detect import bwrap_status

    if not bwrap_status().available:
        pytest.skip("bubblewrap cannot run here")

    async def main() -> None:
        async with Worker("ctx", WorkerOptions(sandbox="bwrap")) as worker:
            assert worker.pid is not None, "a started jailed worker has a host pid to stop"
            pids = proctree.stop(worker.pid)  # the whole jail stopped, as between steps
            inits = [pid for pid in pids if proctree.is_namespace_init(pid)]
            assert len(inits) == 1 and inits[0] != worker.pid
            inside = pids[pids.index(inits[0]):]  # the init and every process under it
            proctree._signal(inits[0], proctree.signal.SIGKILL)  # only the first kill() step
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(
                    (s := proctree.read_stat(pid)) is not None and s.state not in "ZX"
                    for pid in inside):
                await asyncio.sleep(0.05)
            left = [pid for pid in inside
                    if (s := proctree.read_stat(pid)) is not None and s.state not in "ZX"]
            assert not left, "a process of the jail outlived its namespace's init"
            proctree.resume(pids)

    asyncio.run(main())
