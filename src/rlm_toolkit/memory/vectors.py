"""In-memory vector search: exact with numpy, approximate (HNSW) beyond a size.

Exact search (one matrix product) is fast enough up to about 200K vectors. From
`ann_threshold` vectors on, when the `ann` extra (usearch) is installed, unrestricted searches
go through an HNSW index kept beside the exact matrix; searches restricted to a candidate set
stay exact. numpy is imported lazily so that BM25-only memories never need it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import MissingDependency

ANN_THRESHOLD = 200_000


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


def ann_module() -> Any | None:
    """usearch's index module when the `ann` extra is installed, else None."""
    try:
        from usearch import index
    except ImportError:
        return None
    return index


class VectorIndex:
    """Unit vectors keyed by node id, with their level; cosine search.

    `ann_threshold`: from this many live vectors on, unrestricted searches use an HNSW index
    (usearch, the `ann` extra) when it is installed; None keeps every search exact.
    """

    def __init__(self, ann_threshold: int | None = ANN_THRESHOLD) -> None:
        self._np = np_module()
        self.ann_threshold = ann_threshold
        self._ann: Any = None
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
                if self._ann is not None:
                    key = np.asarray([node_id], dtype=np.uint64)
                    if self._ann.contains(node_id):
                        self._ann.remove(key)
                    self._ann.add(key, v.reshape(1, -1))

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
                    if self._ann is not None:
                        self._ann.remove(self._np.asarray([node_id], dtype=self._np.uint64))

    @property
    def uses_ann(self) -> bool:
        """True once unrestricted searches go through the HNSW index."""
        return self._ann is not None

    def _maybe_build_ann(self) -> None:
        """Build the HNSW index the first time the live vectors reach the threshold."""
        if self._ann is not None or self.ann_threshold is None:
            return
        if len(self._row) < self.ann_threshold:
            return
        module = ann_module()
        if module is None:
            return  # exact search still works, only slower
        np = self._np
        index = module.Index(ndim=self._dim, metric="ip", dtype="f32")
        rows = np.fromiter(self._row.values(), dtype=np.int64)
        if rows.size:
            index.add(self._ids[rows].astype(np.uint64), self._mat[rows])
        self._ann = index

    def _ann_search(
        self, q: Any, k: int, levels: Sequence[int]
    ) -> list[tuple[int, float]] | None:
        """Approximate top k of these levels, widening the search until k pass the level mask;
        None when that would read a large share of the index (exact search is then cheaper)."""
        np = self._np
        want = set(levels)
        count = max(4 * k, 64)
        live = len(self._row)
        while True:
            if count > max(live // 8, 4 * k, 64):
                return None
            found = self._ann.search(q, min(count, live))
            out: list[tuple[int, float]] = []
            for key, dist in zip(found.keys.tolist(), found.distances.tolist(), strict=True):
                row = self._row.get(int(key))
                if row is not None and int(self._levels[row]) in want:
                    out.append((int(key), float(np.float32(1.0) - np.float32(dist))))
            if len(out) >= k or count >= live:
                out.sort(key=lambda x: -x[1])
                return out[:k]
            count *= 4

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
                self._maybe_build_ann()
                if self._ann is not None:
                    approx = self._ann_search(q, k, levels)
                    if approx is not None:
                        return approx
                n = self._n
                rows = np.flatnonzero(self._alive[:n] & np.isin(self._levels[:n], list(levels)))
                # Few rows (summary levels): score only those; many: one product, then pick.
                scores = (self._mat[rows] @ q) if rows.size < n // 2 else (self._mat[:n] @ q)[rows]
                ids = self._ids[rows]
            if scores.size == 0:
                return []
            k = min(k, scores.size)
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(int(ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]
