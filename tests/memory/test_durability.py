"""Crash safety (real subprocesses killed with SIGKILL) and thread safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, cast

from rlm_toolkit.memory import HierarchicalMemory, Level

CHILD = Path(__file__).with_name("crash_child.py")


def _spawn(mode: str, db: Path) -> tuple[subprocess.Popen[str], IO[str]]:
    """The child process and the pipe it reports its acknowledgements on."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), mode, str(db)], stdout=subprocess.PIPE, text=True, env=env
    )
    return proc, cast(IO[str], proc.stdout)


def _check_consistent(db: Path) -> None:
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        nodes = c.execute("SELECT count(*) FROM nodes").fetchone()[0]
        assert c.execute("SELECT count(*) FROM nodes_fts").fetchone()[0] == nodes
        dangling = c.execute(
            "SELECT count(*) FROM nodes a WHERE parent_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM nodes b WHERE b.id = a.parent_id AND b.level = a.level + 1)"
        ).fetchone()[0]
        assert dangling == 0
        childless = c.execute(
            "SELECT count(*) FROM nodes a WHERE level > 0 AND NOT EXISTS "
            "(SELECT 1 FROM nodes b WHERE b.parent_id = a.id)"
        ).fetchone()[0]
        assert childless == 0


def test_kill_during_adds_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "mem.db"
    proc, out = _spawn("add", db)
    acked: list[int] = []
    for line in out:
        acked.append(int(line.split()[2]))
        if len(acked) >= 150:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    acked += [int(line.split()[2]) for line in out.read().splitlines() if line.startswith("ACK")]
    _check_consistent(db)
    with HierarchicalMemory(path=db) as mem:
        stored = {n.id for n in mem.store.get_nodes(acked)}
        assert stored == set(acked)
        assert len(mem.retrieve("topic 7 item", k=3)) == 3
        mem.add_episode("written after the crash")  # the file is writable again


def test_kill_during_consolidation_leaves_none_of_it(tmp_path: Path) -> None:
    db = tmp_path / "mem.db"
    proc, out = _spawn("consolidate", db)
    assert out.readline().strip() == "ADDED"
    assert out.readline().strip() == "APPLYING"
    time.sleep(0.2)  # well inside the transaction (300 updates x 10 ms)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _check_consistent(db)
    with HierarchicalMemory(path=db) as mem:
        assert mem.stats() == {"episode": 300, "trace": 0, "category": 0, "domain": 0}
        assert all(n.parent_id is None for n in mem.store.nodes(Level.EPISODE))
        report = mem.consolidate()  # resumes from scratch, cleanly
        assert report.episodes == 300
        assert all(n.parent_id is not None for n in mem.store.nodes(Level.EPISODE))
    _check_consistent(db)


def test_threads_write_read_and_consolidate(tmp_path: Path) -> None:
    mem = HierarchicalMemory(path=tmp_path / "mem.db")
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(60):
                mem.add_episode(f"Writer {w} records fact {i} about subject {i % 9}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for i in range(40):
                mem.retrieve(f"fact {i} subject", k=3)
                if i % 10 == 0:
                    mem.consolidate()
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(mem) == 240
    mem.consolidate()
    assert mem.consolidate().episodes == 0
    assert all(n.parent_id is not None for n in mem.store.nodes(Level.EPISODE))
    mem.close()
    _check_consistent(tmp_path / "mem.db")
