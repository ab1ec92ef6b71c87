"""The default store: one SQLite file in WAL mode holding nodes, an FTS5 index, vectors and
history. Every write runs in a transaction, so a crash (even kill -9) leaves either the whole
change or none of it; an acknowledged write is in the WAL before the call returns.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MemoryStoreError
from .facts import search_words
from .store import UPDATABLE
from .text import content_terms, fts_query
from .types import Filters, Level, MemoryNode
from .vectors import ANN_THRESHOLD, VectorIndex, to_blob

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  level INTEGER NOT NULL,
  text TEXT NOT NULL,
  hash TEXT NOT NULL,
  user_id TEXT NOT NULL DEFAULT '',
  session_id TEXT NOT NULL DEFAULT '',
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at REAL NOT NULL,
  valid_from REAL NOT NULL,
  valid_to REAL,
  superseded_by INTEGER,
  parent_id INTEGER,
  keywords TEXT NOT NULL DEFAULT '',
  fact_key TEXT,
  fact_value TEXT,
  last_seen REAL NOT NULL,
  dirty INTEGER NOT NULL DEFAULT 0,
  embedding BLOB
);
CREATE INDEX IF NOT EXISTS nodes_parent ON nodes(parent_id);
CREATE INDEX IF NOT EXISTS nodes_level_parent ON nodes(level, parent_id);
CREATE INDEX IF NOT EXISTS nodes_fact ON nodes(user_id, fact_key)
  WHERE fact_key IS NOT NULL AND valid_to IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS nodes_dedup ON nodes(user_id, hash)
  WHERE level = 0 AND valid_to IS NULL;
CREATE INDEX IF NOT EXISTS nodes_dirty ON nodes(dirty) WHERE dirty = 1;
CREATE INDEX IF NOT EXISTS nodes_noemb ON nodes(id) WHERE embedding IS NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS nodes_fts USING fts5(text, tokenize='porter unicode61');
CREATE TABLE IF NOT EXISTS terms(term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history(
  id INTEGER PRIMARY KEY, at REAL NOT NULL, event TEXT NOT NULL, node_id INTEGER,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS history_node ON history(node_id);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_COLS = (
    "id, level, text, user_id, session_id, metadata, created_at, valid_from, valid_to, "
    "superseded_by, parent_id, keywords, fact_key, fact_value, last_seen, dirty"
)


def _row_to_node(r: sqlite3.Row | tuple[Any, ...]) -> MemoryNode:
    return MemoryNode(
        id=r[0], level=Level(r[1]), text=r[2], user_id=r[3], session_id=r[4],
        metadata=json.loads(r[5]) if r[5] else {}, created_at=r[6], valid_from=r[7],
        valid_to=r[8], superseded_by=r[9], parent_id=r[10], keywords=r[11], fact_key=r[12],
        fact_value=r[13], last_seen=r[14], dirty=bool(r[15]),
    )


def _chunks(seq: Sequence[int], n: int = 500) -> Iterator[Sequence[int]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def filter_sql(
    filters: Filters, alias: str = "n", dialect: str = "sqlite"
) -> tuple[list[str], list[Any]]:
    """WHERE clauses for `filters` ('?' placeholders for sqlite, '%s' for postgres).

    User scope applies to every level; session, time, validity and metadata filters apply to
    episodes only (summaries span sessions and times).
    """
    a = alias
    where: list[str] = []
    params: list[Any] = []
    if filters.user_id is not None:
        where.append(f"{a}.user_id = ?")
        params.append(filters.user_id)
    ep: list[str] = []
    if filters.session_id is not None:
        ep.append(f"{a}.session_id = ?")
        params.append(filters.session_id)
    if filters.since is not None:
        ep.append(f"{a}.created_at >= ?")
        params.append(filters.since)
    if filters.until is not None:
        ep.append(f"{a}.created_at <= ?")
        params.append(filters.until)
    if filters.as_of is not None:
        ep.append(f"{a}.valid_from <= ? AND ({a}.valid_to IS NULL OR {a}.valid_to > ?)")
        params += [filters.as_of, filters.as_of]
    if not filters.include_superseded:
        ep.append(f"{a}.valid_to IS NULL")
    for key, value in (filters.metadata or {}).items():
        if not str(key).replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"metadata filter key {key!r} must be alphanumeric (with _ or -)")
        if dialect == "postgres":
            ep.append(f"({a}.metadata -> '{key}') = ?::jsonb")
            params.append(json.dumps(value))
        else:
            ep.append(f"json_extract({a}.metadata, '$.{key}') = ?")
            params.append(int(value) if isinstance(value, bool) else value)
    if ep:
        where.append(f"({a}.level > 0 OR ({' AND '.join(ep)}))")
    if dialect == "postgres":
        where = [w.replace("?", "%s") for w in where]
    return where, params


def check_file(path: Path) -> None:
    """Refuse, naming `path`, anything that cannot be a memory database: a folder, a device or
    FIFO, or an empty file (SQLite would silently take it for a new, empty store)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    if path.is_dir():
        raise MemoryStoreError(f"the memory database {path} is a directory: give the path of a "
                               "file (it is created if missing)")
    if not path.is_file():
        raise MemoryStoreError(f"the memory database {path} is not a regular file (a FIFO or a "
                               "device?): give the path of a file (it is created if missing)")
    wal = path.with_name(path.name + "-wal")
    if path.stat().st_size == 0 and not (wal.is_file() and wal.stat().st_size > 0):
        raise MemoryStoreError(
            f"the memory database {path} is an empty file (0 bytes), not a database: if its "
            "memories were lost, restore it from a backup; to start a new store, delete it "
            "(or give a path that does not exist yet)"
        )


def is_damage(exc: BaseException) -> bool:
    """True for SQLite's own "malformed" / "not a database" errors (the bare DatabaseError,
    not its subclasses for constraints, locks or misuse)."""
    return type(exc) is sqlite3.DatabaseError


def unreadable(path: str, exc: BaseException) -> MemoryStoreError:
    """The error for a file SQLite cannot read as a database."""
    return MemoryStoreError(
        f"the memory database {path} cannot be read ({type(exc).__name__}: {exc}); it is "
        "damaged or not a SQLite file: restore it from a backup, or move it aside to start a "
        "new store"
    )


class SQLiteStore:
    """A `MemoryStore` in one SQLite file (or in memory when `path` is None).

    `synchronous="NORMAL"` (default) survives a killed process; use "FULL" to also survive a
    power loss at the cost of an fsync per write. Vectors are searched exactly in memory; from
    `ann_threshold` of them on, through an HNSW index when the `ann` extra is installed (None:
    always exact).
    """

    def __init__(
        self, path: str | Path | None = None, synchronous: str = "NORMAL",
        ann_threshold: int | None = ANN_THRESHOLD,
    ):
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ConfigError(f"synchronous={synchronous!r}: use NORMAL or FULL")
        self.path = str(path) if path is not None else ":memory:"
        if path is not None:
            check_file(Path(path).expanduser())
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
        except sqlite3.Error as exc:
            raise unreadable(self.path, exc) from None
        try:
            self._open(synchronous)
        except BaseException:
            self._conn.close()
            raise
        self.ann_threshold = ann_threshold
        self._vectors: VectorIndex | None = None
        self._vectors_loaded = False

    def _open(self, synchronous: str) -> None:
        """Settings and schema; a file that is not a database is refused naming its path."""
        c = self._conn
        try:
            if self.path != ":memory:":
                mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise ConfigError(f"{self.path}: SQLite could not switch to WAL mode ({mode})")
            c.execute(f"PRAGMA synchronous={synchronous.upper()}")
            c.execute("PRAGMA secure_delete=ON")
            c.execute("PRAGMA foreign_keys=OFF")
            c.executescript(SCHEMA)
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc).lower():
                raise ConfigError(
                    "this Python's SQLite has no FTS5 module; use a Python built with a recent "
                    "SQLite (3.9+ with FTS5), or the postgres store"
                ) from exc
            raise unreadable(self.path, exc) from None
        except sqlite3.DatabaseError as exc:
            raise unreadable(self.path, exc) from None

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with self._damage():
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException as exc:
                with contextlib.suppress(sqlite3.DatabaseError):
                    self._conn.execute("ROLLBACK")
                self._vectors_loaded = False  # rebuilt from the file on next use
                self._vectors = None
                if is_damage(exc):
                    raise unreadable(self.path, exc) from None
                raise
            else:
                with self._damage():
                    self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    @contextmanager
    def _damage(self) -> Iterator[None]:
        """Report a damaged file as MemoryStoreError naming it, not a bare sqlite3 error."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise unreadable(self.path, exc) from None
            raise

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock, self._damage():
            return self._conn.execute(sql, params).fetchall()

    # -- nodes ---------------------------------------------------------------------------

    def insert_node(
        self, node: MemoryNode, text_hash: str, embedding: Sequence[float] | None = None
    ) -> int:
        blob = to_blob(embedding) if embedding is not None else None
        with self.transaction():
            cur = self._conn.execute(
                "INSERT INTO nodes(level, text, hash, user_id, session_id, metadata, created_at,"
                " valid_from, valid_to, superseded_by, parent_id, keywords, fact_key, fact_value,"
                " last_seen, dirty, embedding) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    int(node.level), node.text, text_hash, node.user_id, node.session_id,
                    json.dumps(node.metadata, sort_keys=True, default=str), node.created_at,
                    node.valid_from, node.valid_to, node.superseded_by, node.parent_id,
                    node.keywords, node.fact_key, node.fact_value,
                    node.last_seen or node.created_at, int(node.dirty), blob,
                ),
            )
            node_id = int(cur.lastrowid or 0)
            extra = search_words(node.fact_key) if node.level == Level.EPISODE else ""
            self._conn.execute(
                "INSERT INTO nodes_fts(rowid, text) VALUES (?, ?)",
                (node_id, f"{node.text} {extra}" if extra else node.text),
            )
            if node.level == Level.EPISODE:
                self._terms(node.text, +1)
            if blob is not None and self._vectors_loaded and self._vectors is not None:
                self._vectors.add([(node_id, int(node.level), blob)])
        return node_id

    def _terms(self, text: str, delta: int) -> None:
        terms = sorted(set(content_terms(text)))
        if not terms:
            return
        if delta > 0:
            self._conn.executemany(
                "INSERT INTO terms(term, df) VALUES (?, 1) "
                "ON CONFLICT(term) DO UPDATE SET df = df + 1",
                [(t,) for t in terms],
            )
        else:
            self._conn.executemany(
                "UPDATE terms SET df = df - 1 WHERE term = ?", [(t,) for t in terms]
            )
            self._conn.execute("DELETE FROM terms WHERE df <= 0")

    def get_nodes(self, ids: Sequence[int], with_children: bool = False) -> list[MemoryNode]:
        found: dict[int, MemoryNode] = {}
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for r in self._q(f"SELECT {_COLS} FROM nodes WHERE id IN ({marks})", chunk):
                found[r[0]] = _row_to_node(r)
        if with_children and found:
            for chunk in _chunks(list(found)):
                marks = ",".join("?" * len(chunk))
                rows = self._q(
                    f"SELECT parent_id, id FROM nodes WHERE parent_id IN ({marks}) ORDER BY id",
                    chunk,
                )
                for parent, child in rows:
                    found[parent].children.append(child)
        return [found[i] for i in ids if i in found]

    def find_duplicate(self, user_id: str, text_hash: str) -> int | None:
        rows = self._q(
            "SELECT id FROM nodes WHERE user_id = ? AND hash = ? AND level = 0 "
            "AND valid_to IS NULL",
            (user_id, text_hash),
        )
        return int(rows[0][0]) if rows else None

    def find_facts(self, user_id: str, fact_key: str) -> list[MemoryNode]:
        rows = self._q(
            f"SELECT {_COLS} FROM nodes WHERE user_id = ? AND fact_key = ? "
            "AND valid_to IS NULL AND fact_key IS NOT NULL ORDER BY valid_from, id",
            (user_id, fact_key),
        )
        return [_row_to_node(r) for r in rows]

    def update_node(self, node_id: int, **fields: Any) -> None:
        bad = set(fields) - UPDATABLE
        if bad:
            raise ConfigError(f"cannot update {sorted(bad)}; updatable: {sorted(UPDATABLE)}")
        if not fields:
            return
        values = []
        for key, value in fields.items():
            if key == "metadata":
                value = json.dumps(value, sort_keys=True, default=str)
            elif key == "dirty":
                value = int(bool(value))
            values.append(value)
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction():
            if "text" in fields:
                old = self._q("SELECT level, text FROM nodes WHERE id = ?", (node_id,))
                if old and old[0][0] == 0:
                    self._terms(old[0][1], -1)
                    self._terms(fields["text"], +1)
                # A changed summary is re-embedded later by the memory.
                sets += ", embedding = NULL"
                if self._vectors is not None:
                    self._vectors.remove([node_id])
                self._conn.execute("DELETE FROM nodes_fts WHERE rowid = ?", (node_id,))
                self._conn.execute(
                    "INSERT INTO nodes_fts(rowid, text) VALUES (?, ?)", (node_id, fields["text"])
                )
            self._conn.execute(f"UPDATE nodes SET {sets} WHERE id = ?", (*values, node_id))

    def delete_nodes(self, ids: Sequence[int]) -> None:
        ids = list(ids)
        with self.transaction():
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                for (text,) in self._q(
                    f"SELECT text FROM nodes WHERE level = 0 AND id IN ({marks})", chunk
                ):
                    self._terms(text, -1)
                self._conn.execute(f"DELETE FROM nodes_fts WHERE rowid IN ({marks})", chunk)
                self._conn.execute(f"DELETE FROM nodes WHERE id IN ({marks})", chunk)
                self._conn.execute(
                    f"UPDATE nodes SET superseded_by = NULL WHERE superseded_by IN ({marks})",
                    chunk,
                )
            if self._vectors is not None:
                self._vectors.remove(ids)

    def children_of(self, parent_ids: Sequence[int]) -> list[MemoryNode]:
        out: list[MemoryNode] = []
        for chunk in _chunks(list(parent_ids)):
            marks = ",".join("?" * len(chunk))
            rows = self._q(
                f"SELECT {_COLS} FROM nodes WHERE parent_id IN ({marks}) ORDER BY id", chunk
            )
            out += [_row_to_node(r) for r in rows]
        return out

    def orphans(self, level: Level) -> list[MemoryNode]:
        rows = self._q(
            f"SELECT {_COLS} FROM nodes WHERE level = ? AND parent_id IS NULL ORDER BY id",
            (int(level),),
        )
        return [_row_to_node(r) for r in rows]

    def nodes(self, level: Level, user_id: str | None = None) -> list[MemoryNode]:
        if user_id is None:
            rows = self._q(f"SELECT {_COLS} FROM nodes WHERE level = ? ORDER BY id", (int(level),))
        else:
            rows = self._q(
                f"SELECT {_COLS} FROM nodes WHERE level = ? AND user_id = ? ORDER BY id",
                (int(level), user_id),
            )
        return [_row_to_node(r) for r in rows]

    def dirty_nodes(self) -> list[MemoryNode]:
        rows = self._q(f"SELECT {_COLS} FROM nodes WHERE dirty = 1 ORDER BY level, id")
        return [_row_to_node(r) for r in rows]

    def select_ids(self, filters: Filters, levels: Sequence[Level]) -> list[int]:
        where, params = filter_sql(filters)
        where.append(f"n.level IN ({','.join(str(int(lv)) for lv in levels)})")
        rows = self._q(f"SELECT n.id FROM nodes n WHERE {' AND '.join(where)} ORDER BY n.id", params)
        return [int(r[0]) for r in rows]

    # -- search --------------------------------------------------------------------------

    def text_search(
        self, query: str, k: int, filters: Filters, levels: Sequence[Level],
        ids: Sequence[int] | None = None, parent_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        match = fts_query(query)
        if not match or k <= 0:
            return []
        where, params = filter_sql(filters)
        where.append(f"n.level IN ({','.join(str(int(lv)) for lv in levels)})")
        extra: list[Any] = []
        if ids is not None:
            if not ids:
                return []
            where.append(f"n.id IN ({','.join('?' * len(ids))})")
            extra += list(ids)
        if parent_ids is not None:
            if not parent_ids:
                return []
            where.append(f"n.parent_id IN ({','.join('?' * len(parent_ids))})")
            extra += list(parent_ids)
        sql = (
            "SELECT n.id, bm25(nodes_fts) AS s FROM nodes_fts JOIN nodes n "
            "ON n.id = nodes_fts.rowid WHERE nodes_fts MATCH ? AND "
            f"{' AND '.join(where)} ORDER BY s LIMIT ?"
        )
        try:
            rows = self._q(sql, [match, *params, *extra, k])
        except sqlite3.OperationalError as exc:
            raise ConfigError(f"full-text query {match!r} failed: {exc}") from exc
        return [(int(i), -float(s)) for i, s in rows]

    def _index(self) -> VectorIndex | None:
        with self._lock:
            if not self._vectors_loaded:
                rows = self._q("SELECT id, level, embedding FROM nodes WHERE embedding IS NOT NULL")
                if rows:
                    index = VectorIndex(self.ann_threshold)
                    index.add((int(i), int(lv), b) for i, lv, b in rows)
                    self._vectors = index
                else:
                    self._vectors = None
                self._vectors_loaded = True
            return self._vectors

    def vector_search(
        self, vector: Sequence[float], k: int, filters: Filters, levels: Sequence[Level],
        ids: Sequence[int] | None = None, parent_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        index = self._index()
        if index is None or k <= 0:
            return []
        lv = [int(x) for x in levels]
        where, params = filter_sql(filters)
        if parent_ids is not None:
            allowed: set[int] = set()
            for chunk in _chunks(list(parent_ids)):
                w = [*where, f"n.parent_id IN ({','.join('?' * len(chunk))})"]
                rows = self._q(f"SELECT n.id FROM nodes n WHERE {' AND '.join(w)}",
                               [*params, *chunk])
                allowed.update(int(r[0]) for r in rows)
            if ids is not None:
                allowed &= set(ids)
            return index.search(vector, k, lv, only=allowed)[:k]
        if ids is not None:  # the index drops ids it does not hold: only filters need SQL
            allowed = set(self.filter_ids(ids, filters)) if where else set(ids)
            return index.search(vector, k, lv, only=allowed)[:k]
        pool = max(4 * k, 64)
        while True:
            hits = index.search(vector, pool, lv)
            if not where:  # the index holds only stored nodes: nothing to check
                return hits[:k]
            ok = set(self.filter_ids([i for i, _ in hits], filters))
            kept = [(i, s) for i, s in hits if i in ok]
            if len(kept) >= k or len(hits) < pool:
                return kept[:k]
            pool *= 4

    def filter_ids(self, ids: Sequence[int], filters: Filters) -> list[int]:
        """Those of `ids` that pass the filters."""
        where, params = filter_sql(filters)
        out: list[int] = []
        for chunk in _chunks(list(ids)):
            w = [*where, f"n.id IN ({','.join('?' * len(chunk))})"]
            rows = self._q(f"SELECT n.id FROM nodes n WHERE {' AND '.join(w)}", [*params, *chunk])
            out += [int(r[0]) for r in rows]
        return out

    def set_embeddings(self, items: Sequence[tuple[int, Sequence[float]]]) -> None:
        blobs = [(to_blob(v), int(i)) for i, v in items]
        with self.transaction():
            self._conn.executemany("UPDATE nodes SET embedding = ? WHERE id = ?", blobs)
            if self._vectors_loaded:
                levels = dict(
                    self._q(
                        f"SELECT id, level FROM nodes WHERE id IN ({','.join('?' * len(blobs))})",
                        [i for _, i in blobs],
                    )
                ) if blobs else {}
                if self._vectors is None and blobs:
                    self._vectors = VectorIndex(self.ann_threshold)
                if self._vectors is not None:
                    self._vectors.add((i, int(levels[i]), b) for b, i in blobs if i in levels)

    def without_embedding(self, limit: int) -> list[tuple[int, str]]:
        rows = self._q(
            "SELECT id, text FROM nodes WHERE embedding IS NULL ORDER BY id LIMIT ?", (limit,)
        )
        return [(int(i), t) for i, t in rows]

    def clear_embeddings(self) -> None:
        with self.transaction():
            self._conn.execute("UPDATE nodes SET embedding = NULL WHERE embedding IS NOT NULL")
            self._vectors = None
            self._vectors_loaded = False

    # -- meta, history, stats ------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def log(self, event: str, node_id: int | None, detail: dict[str, Any] | None = None) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO history(at, event, node_id, detail) VALUES (?, ?, ?, ?)",
                (time.time(), event, node_id, json.dumps(detail or {}, default=str)),
            )

    def history(self, node_id: int | None = None) -> list[dict[str, Any]]:
        if node_id is None:
            rows = self._q("SELECT at, event, node_id, detail FROM history ORDER BY id")
        else:
            rows = self._q(
                "SELECT at, event, node_id, detail FROM history WHERE node_id = ? ORDER BY id",
                (node_id,),
            )
        return [
            {"at": a, "event": e, "node_id": n, "detail": json.loads(d)} for a, e, n, d in rows
        ]

    def count(self, level: Level | None = None) -> int:
        if level is None:
            return int(self._q("SELECT count(*) FROM nodes")[0][0])
        return int(self._q("SELECT count(*) FROM nodes WHERE level = ?", (int(level),))[0][0])

    def term_stats(self, terms: Sequence[str]) -> dict[str, float]:
        terms = sorted(set(terms))
        if not terms:
            return {}
        n = max(self.count(Level.EPISODE), 1)
        rows = dict(
            self._q(f"SELECT term, df FROM terms WHERE term IN ({','.join('?' * len(terms))})", terms)
        )
        return {t: math.log(1 + n / (1 + int(rows.get(t, 0)))) for t in terms}

    def term_counts(self) -> Counter[str]:
        """Document frequency of every stemmed term over episodes (for tests and tools)."""
        return Counter(dict(self._q("SELECT term, df FROM terms")))

    def purge(self) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO nodes_fts(nodes_fts) VALUES ('optimize')")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            try:
                if self.path != ":memory:":
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                self._conn.close()
