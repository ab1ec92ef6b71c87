"""Exact in-memory vector search with numpy (fine up to a few hundred thousand vectors).

numpy is imported lazily so that BM25-only memories never need it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import MissingDependency


def np_module() -> Any:
    """numpy, or a clear error naming the extra that installs it."""
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependency("numpy", "embeddings", "dense vector search") from exc
    return numpy


def to_blob(vector: Sequence[float] | Any) -> bytes:
    """A unit-length float32 vector as bytes."""
    np = np_module()
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype(np.float32).tobytes()


def from_blob(blob: bytes) -> Any:
    np = np_module()
    return np.frombuffer(blob, dtype=np.float32)


class VectorIndex:
    """Unit vectors keyed by node id, with their level; exact cosine search by matrix product."""

    def __init__(self) -> None:
        self._np = np_module()
        self._lock = threading.Lock()
        self._dim = 0
        self._mat: Any = None
        self._ids: Any = None
        self._levels: Any = None
        self._alive: Any = None
        self._row: dict[int, int] = {}
        self._n = 0

    def __len__(self) -> int:
        return len(self._row)

    def add(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Add or replace (id, level, blob) entries."""
        np = self._np
        with self._lock:
            for node_id, level, blob in items:
                v = np.frombuffer(blob, dtype=np.float32)
                if self._mat is None:
                    self._dim = v.shape[0]
                    self._alloc(1024)
                if v.shape[0] != self._dim:
                    raise ValueError(
                        f"vector of node {node_id} has {v.shape[0]} dimensions, the index "
                        f"{self._dim}: re-embed with one embedder"
                    )
                row = self._row.get(node_id)
                if row is None:
                    if self._n == self._mat.shape[0]:
                        self._alloc(self._mat.shape[0] * 2)
                    row = self._n
                    self._n += 1
                    self._row[node_id] = row
                self._mat[row] = v
                self._ids[row] = node_id
                self._levels[row] = level
                self._alive[row] = True

    def _alloc(self, cap: int) -> None:
        np = self._np
        mat = np.zeros((cap, self._dim), dtype=np.float32)
        ids = np.zeros(cap, dtype=np.int64)
        levels = np.zeros(cap, dtype=np.int8)
        alive = np.zeros(cap, dtype=bool)
        if self._mat is not None:
            mat[: self._n] = self._mat[: self._n]
            ids[: self._n] = self._ids[: self._n]
            levels[: self._n] = self._levels[: self._n]
            alive[: self._n] = self._alive[: self._n]
        self._mat, self._ids, self._levels, self._alive = mat, ids, levels, alive

    def remove(self, ids: Iterable[int]) -> None:
        with self._lock:
            for node_id in ids:
                row = self._row.pop(node_id, None)
                if row is not None:
                    self._alive[row] = False
                    self._mat[row] = 0.0

    def search(
        self, vector: Any, k: int, levels: Sequence[int], only: Iterable[int] | None = None
    ) -> list[tuple[int, float]]:
        """The k best (id, cosine) among live rows of these levels (and of `only`, if given)."""
        np = self._np
        with self._lock:
            if self._mat is None or not self._row:
                return []
            q = np.asarray(vector, dtype=np.float32).reshape(-1)
            if q.shape[0] != self._dim:
                raise ValueError(
                    f"query vector has {q.shape[0]} dimensions, stored vectors {self._dim}"
                )
            if only is not None:
                rows = np.fromiter(
                    (r for i in only if (r := self._row.get(int(i))) is not None), dtype=np.int64
                )
                if rows.size == 0:
                    return []
                rows = rows[np.isin(self._levels[rows], list(levels))]
                scores = self._mat[rows] @ q
                ids = self._ids[rows]
            else:
                n = self._n
                scores = self._mat[:n] @ q
                mask = self._alive[:n] & np.isin(self._levels[:n], list(levels))
                scores = np.where(mask, scores, -np.inf)
                ids = self._ids[:n]
            if scores.size == 0:
                return []
            k = min(k, scores.size)
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(int(ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]
