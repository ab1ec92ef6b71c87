"""Progress events a run emits for live views (the CLI's, a server's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal[
    "run_start", "iteration", "token", "code", "subcall", "child_start", "child_end", "run_end",
    "verify", "tool",
]


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run at `depth` (0 is the top-level run)."""

    kind: EventKind
    depth: int
    iteration: int = 0
    data: dict[str, Any] = field(default_factory=dict)


EventHandler = Callable[[Event], None]
