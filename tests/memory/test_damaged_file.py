"""A memory file that is not (or no longer) a database is refused with one clear error that
names the path, and is left exactly as it was."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from rlm_toolkit.errors import MemoryStoreError, RLMError
from rlm_toolkit.memory import HierarchicalMemory


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_bytes(b"these are my notes, not a database\n" * 200)
    before = db.read_bytes()
    with pytest.raises(MemoryStoreError) as info:
        HierarchicalMemory(db)
    assert isinstance(info.value, RLMError)
    assert str(db) in str(info.value) and "restore it from a backup" in str(info.value)
    assert db.read_bytes() == before


def test_an_empty_file_is_refused_not_taken_for_a_new_store(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    db.touch()
    with pytest.raises(MemoryStoreError, match="empty file") as info:
        HierarchicalMemory(db)
    assert str(db) in str(info.value) and "delete it" in str(info.value)
    assert db.stat().st_size == 0  # not initialised behind the user's back


def test_a_path_that_does_not_exist_yet_starts_a_new_store(tmp_path: Path) -> None:
    db = tmp_path / "new" / "memory.db"
    hmem = HierarchicalMemory(db)
    hmem.add_episode("The user likes Python")
    assert "Python" in str(hmem.retrieve("what does the user like?"))
    hmem.close()


def test_a_directory_or_fifo_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(MemoryStoreError, match="is a directory") as info:
        HierarchicalMemory(tmp_path)
    assert str(tmp_path) in str(info.value)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(MemoryStoreError, match="not a regular file"):
        HierarchicalMemory(fifo)


def test_damage_found_after_opening_is_reported_naming_the_file(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    hmem = HierarchicalMemory(db)
    for i in range(300):
        hmem.add_episode(f"Episode {i}: the harbour log mentions ship number {i * 7}.")
    hmem.close()
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(db.read_bytes())
    page = 4096
    assert len(raw) > 8 * page
    raw[2 * page:len(raw) - page] = b"\xff" * (len(raw) - 3 * page)  # keep the schema page
    db.write_bytes(bytes(raw))
    with pytest.raises(MemoryStoreError) as info:
        reopened = HierarchicalMemory(db)
        reopened.retrieve("ship number 70")
    assert str(db) in str(info.value)
