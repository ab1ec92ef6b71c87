"""Plain data of the memory: levels, stored nodes, filters and retrieval results."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Level(IntEnum):
    """The four H-MEM levels, from raw episodes up to broad domains."""

    EPISODE = 0
    TRACE = 1
    CATEGORY = 2
    DOMAIN = 3


@dataclass
class MemoryNode:
    """One stored node. Episodes hold what was added; higher levels hold summaries.

    `parent_id` points one level up; `children` (filled on request) point one level down.
    An episode superseded by a newer contradicting one keeps its text, with `valid_to` and
    `superseded_by` set.
    """

    id: int
    level: Level
    text: str
    user_id: str = ""
    session_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    valid_from: float = 0.0
    valid_to: float | None = None
    superseded_by: int | None = None
    parent_id: int | None = None
    keywords: str = ""
    fact_key: str | None = None
    fact_value: str | None = None
    last_seen: float = 0.0
    dirty: bool = False
    children: list[int] = field(default_factory=list)

    @property
    def is_current(self) -> bool:
        """True while no newer episode has superseded this one."""
        return self.valid_to is None


@dataclass(frozen=True)
class Filters:
    """What a search may return.

    `user_id`/`session_id` restrict the scope; `since`/`until` bound `created_at` (epoch
    seconds); `as_of` keeps only what was valid at that moment; `metadata` keeps nodes whose
    metadata has each key equal to the given value; `include_superseded=False` drops outdated
    episodes.
    """

    user_id: str | None = None
    session_id: str | None = None
    since: float | None = None
    until: float | None = None
    as_of: float | None = None
    metadata: dict[str, Any] | None = None
    include_superseded: bool = True


@dataclass
class MemoryHit:
    """One scored entry of a retrieval.

    `score` ranks entries of one retrieval against each other; `match` is an absolute
    relevance in [0, 1] (share of the query's words found, or cosine similarity when dense
    vectors are used) that can be compared across queries, e.g. to abstain.
    """

    id: int
    text: str
    score: float
    level: Level
    created_at: float
    valid_from: float
    valid_to: float | None = None
    superseded_by: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    user_id: str = ""
    session_id: str = ""
    match: float = 0.0

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


@dataclass
class RetrievalResult:
    """The answer of `HierarchicalMemory.retrieve`.

    `str(result)` is a compact prompt-ready block (empty when nothing was found), iterating
    yields `MemoryHit`s best first, and `len(result)` counts them.
    """

    query: str
    hits: list[MemoryHit] = field(default_factory=list)
    max_chars: int = 2000

    def __iter__(self) -> Iterator[MemoryHit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __bool__(self) -> bool:
        return bool(self.hits)

    def __getitem__(self, i: int) -> MemoryHit:
        return self.hits[i]

    @property
    def ids(self) -> list[int]:
        return [h.id for h in self.hits]

    def to_prompt(self, max_chars: int | None = None) -> str:
        """The prompt block, cut to `max_chars` on a line boundary."""
        if not self.hits:
            return ""
        limit = self.max_chars if max_chars is None else max_chars
        lines = ["Relevant memories (most relevant first):"]
        size = len(lines[0])
        for h in self.hits:
            when = _day(h.valid_from)
            if h.valid_to is not None:
                when += f", outdated since {_day(h.valid_to)}"
            kind = "" if h.level == Level.EPISODE else f"{h.level.name.lower()} summary, "
            line = f"- [{kind}{when}] {' '.join(h.text.split())}"
            if size + len(line) + 1 > limit:
                break
            lines.append(line)
            size += len(line) + 1
        return "\n".join(lines) if len(lines) > 1 else ""

    def __str__(self) -> str:
        return self.to_prompt()

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "hits": [
                {
                    "id": h.id, "text": h.text, "score": h.score, "match": h.match,
                    "level": h.level.name.lower(), "created_at": h.created_at,
                    "valid_from": h.valid_from, "valid_to": h.valid_to,
                    "superseded_by": h.superseded_by, "metadata": h.metadata,
                    "user_id": h.user_id, "session_id": h.session_id,
                }
                for h in self.hits
            ],
        }
