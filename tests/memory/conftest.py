"""Shared fixtures of the memory tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rlm_toolkit.memory import HierarchicalMemory


class Clock:
    """A settable clock (seconds since the epoch)."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, days: float) -> None:
        self.now += days * 86400


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hmem(clock: Clock) -> Iterator[HierarchicalMemory]:
    mem = HierarchicalMemory(clock=clock)
    yield mem
    mem.close()
