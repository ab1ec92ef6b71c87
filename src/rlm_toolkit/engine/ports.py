"""The engine's seams to the layers above it, as protocols."""

from __future__ import annotations

from typing import Any, Protocol


class Memory(Protocol):
    """A long-term memory the run reads before it starts and the REPL's `memory` object uses.

    `rlm_toolkit.memory.HierarchicalMemory` is one; anything with these two methods works.
    """

    def retrieve(self, query: str, k: int = 5) -> object:
        """The `k` memories most relevant to `query`; `str()` of the result is a prompt block."""
        ...

    def add_episode(self, text: str, metadata: dict[str, Any] | None = None) -> object:
        """Store one memory."""
        ...
