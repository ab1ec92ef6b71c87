"""The `MemoryStore` protocol: what `HierarchicalMemory` needs from a storage backend.

`SQLiteStore` (one file, WAL mode) is the default; `PostgresStore` (PostgreSQL + pgvector)
serves users who outgrow one file. A store is the single source of truth: every write happens
inside `transaction()`, which commits as a whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from .types import Filters, Level, MemoryNode

# Columns a caller may change with `update_node`.
UPDATABLE = frozenset(
    {"text", "keywords", "valid_to", "superseded_by", "parent_id", "dirty", "last_seen",
     "metadata", "hash"}
)


@runtime_checkable
class MemoryStore(Protocol):
    """Storage of nodes, their text index, their vectors and a history of changes.

    Scores returned by searches are "higher is better". Searches never return deleted nodes.
    """

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction; nested calls join the outer one."""
        ...

    def insert_node(
        self, node: MemoryNode, text_hash: str, embedding: Sequence[float] | None = None
    ) -> int:
        """Store a node (its `id` is ignored) and index its text; returns the new id."""
        ...

    def get_nodes(self, ids: Sequence[int], with_children: bool = False) -> list[MemoryNode]:
        """The nodes with these ids that exist, in the order given."""
        ...

    def find_duplicate(self, user_id: str, text_hash: str) -> int | None:
        """The id of a current episode of this user with the same normalised text."""
        ...

    def find_facts(self, user_id: str, fact_key: str) -> list[MemoryNode]:
        """Current episodes of this user stating a fact with this subject|relation key."""
        ...

    def update_node(self, node_id: int, **fields: Any) -> None:
        """Change some columns (see `UPDATABLE`); changing `text` re-indexes it."""
        ...

    def delete_nodes(self, ids: Sequence[int]) -> None:
        """Delete rows, their text index entries and their vectors."""
        ...

    def children_of(self, parent_ids: Sequence[int]) -> list[MemoryNode]:
        """All nodes whose parent is one of these."""
        ...

    def orphans(self, level: Level) -> list[MemoryNode]:
        """Nodes of this level that have no parent yet (not consolidated)."""
        ...

    def nodes(self, level: Level, user_id: str | None = None) -> list[MemoryNode]:
        """All nodes of a level, optionally of one user."""
        ...

    def dirty_nodes(self) -> list[MemoryNode]:
        """Summary nodes whose children changed since their summary was written."""
        ...

    def select_ids(self, filters: Filters, levels: Sequence[Level]) -> list[int]:
        """Ids of the nodes of these levels that pass the filters."""
        ...

    def filter_ids(self, ids: Sequence[int], filters: Filters) -> list[int]:
        """Those of `ids` that exist and pass the filters."""
        ...

    def text_search(
        self, query: str, k: int, filters: Filters, levels: Sequence[Level],
        ids: Sequence[int] | None = None, parent_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        """Full-text (BM25 or similar) hits as (id, score), best first."""
        ...

    def vector_search(
        self, vector: Sequence[float], k: int, filters: Filters, levels: Sequence[Level],
        ids: Sequence[int] | None = None, parent_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        """Nearest stored vectors as (id, cosine), best first; [] when none are stored."""
        ...

    def set_embeddings(self, items: Sequence[tuple[int, Sequence[float]]]) -> None:
        """Store (normalised) vectors for these nodes."""
        ...

    def without_embedding(self, limit: int) -> list[tuple[int, str]]:
        """Up to `limit` (id, text) pairs of nodes that have no vector yet."""
        ...

    def clear_embeddings(self) -> None:
        """Drop every vector (when the embedder changes)."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def log(self, event: str, node_id: int | None, detail: dict[str, Any] | None = None) -> None:
        """Append to the history (never text of a node: forgotten text must not survive)."""
        ...

    def history(self, node_id: int | None = None) -> list[dict[str, Any]]: ...

    def count(self, level: Level | None = None) -> int: ...

    def term_stats(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of each (stemmed) term over episodes; may be approximate."""
        ...

    def purge(self) -> None:
        """After deletions: make deleted text unrecoverable from the store's files."""
        ...

    def close(self) -> None: ...
