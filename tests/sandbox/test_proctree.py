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
