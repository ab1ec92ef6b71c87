"""A `MemoryStore` on PostgreSQL with pgvector, for memories that outgrow one SQLite file.

    pip install 'rlm-toolkit[postgres]'
    store = PostgresStore("postgresql://user:pw@host/db")
    hmem = HierarchicalMemory(store=store)

Text search uses PostgreSQL's full-text search (`tsvector`, ranked by `ts_rank_cd`, not BM25);
vectors live in a pgvector `vector` column and are searched exactly by cosine distance.
Tables are named with `prefix`, so several memories can share one database.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import ConfigError, MissingDependency
from .facts import search_words
from .sqlite_store import _COLS, filter_sql
from .store import UPDATABLE
from .text import STOPWORDS, content_terms, words
from .types import Filters, Level, MemoryNode

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS {p}nodes(
  id BIGSERIAL PRIMARY KEY,
  level SMALLINT NOT NULL,
  text TEXT NOT NULL,
  hash TEXT NOT NULL,
  user_id TEXT NOT NULL DEFAULT '',
  session_id TEXT NOT NULL DEFAULT '',
  metadata JSONB NOT NULL DEFAULT '{{}}',
  created_at DOUBLE PRECISION NOT NULL,
  valid_from DOUBLE PRECISION NOT NULL,
  valid_to DOUBLE PRECISION,
  superseded_by BIGINT,
  parent_id BIGINT,
  keywords TEXT NOT NULL DEFAULT '',
  fact_key TEXT,
  fact_value TEXT,
  last_seen DOUBLE PRECISION NOT NULL,
  dirty BOOLEAN NOT NULL DEFAULT FALSE,
  embedding vector,
  extra TEXT NOT NULL DEFAULT '',
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text || ' ' || extra)) STORED
);
CREATE INDEX IF NOT EXISTS {p}nodes_tsv ON {p}nodes USING GIN (tsv);
CREATE INDEX IF NOT EXISTS {p}nodes_parent ON {p}nodes(parent_id);
CREATE INDEX IF NOT EXISTS {p}nodes_level_parent ON {p}nodes(level, parent_id);
CREATE INDEX IF NOT EXISTS {p}nodes_fact ON {p}nodes(user_id, fact_key)
  WHERE fact_key IS NOT NULL AND valid_to IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS {p}nodes_dedup ON {p}nodes(user_id, hash)
  WHERE level = 0 AND valid_to IS NULL;
CREATE TABLE IF NOT EXISTS {p}terms(term TEXT PRIMARY KEY, df INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS {p}history(
  id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, event TEXT NOT NULL, node_id BIGINT,
  detail JSONB NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS {p}history_node ON {p}history(node_id);
CREATE TABLE IF NOT EXISTS {p}meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _vec(vector: Sequence[float] | Any) -> str:
    values = [float(x) for x in vector]
    norm = math.sqrt(sum(x * x for x in values)) or 1.0
    return "[" + ",".join(f"{x / norm:.7g}" for x in values) + "]"


def _redact(dsn: str) -> str:
    """The DSN without its password (for error messages)."""
    dsn = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", dsn, flags=re.I)


def _node(r: Sequence[Any]) -> MemoryNode:
    return MemoryNode(
        id=int(r[0]), level=Level(r[1]), text=r[2], user_id=r[3], session_id=r[4],
        metadata=r[5] if isinstance(r[5], dict) else json.loads(r[5] or "{}"),
        created_at=r[6], valid_from=r[7], valid_to=r[8], superseded_by=r[9], parent_id=r[10],
        keywords=r[11], fact_key=r[12], fact_value=r[13], last_seen=r[14], dirty=bool(r[15]),
    )


class PostgresStore:
    """PostgreSQL + pgvector storage; `dsn` is a libpq connection string or URI."""

    def __init__(self, dsn: str, prefix: str = "hmem_"):
        try:
            import psycopg
        except ImportError as exc:
            raise MissingDependency("psycopg", "postgres", "the PostgreSQL memory store") from exc
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,30}", prefix):
            raise ConfigError(f"prefix={prefix!r}: use lower-case letters, digits and _")
        self._p = prefix
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._conn = psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as exc:
            raise ConfigError(
                f"cannot connect to PostgreSQL at {_redact(dsn)!r}: {exc}"
            ) from exc
        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(727274)")
                self._conn.execute(SCHEMA.format(p=prefix))
        except psycopg.errors.FeatureNotSupported as exc:  # pragma: no cover
            raise ConfigError("the server lacks the pgvector extension: install pgvector") from exc
        except psycopg.errors.UndefinedFile as exc:  # pragma: no cover
            raise ConfigError("the server lacks the pgvector extension: install pgvector") from exc

    def _t(self, name: str) -> str:
        return self._p + name

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
            self._depth = 1
            try:
                with self._conn.transaction():
                    yield
            finally:
                self._depth = 0

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            cur = self._conn.execute(sql.replace("{p}", self._p), params)
            return cur.fetchall() if cur.description else []

    def _x(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._lock:
            self._conn.execute(sql.replace("{p}", self._p), params)

    # -- nodes ---------------------------------------------------------------------------

    def insert_node(
        self, node: MemoryNode, text_hash: str, embedding: Sequence[float] | None = None
    ) -> int:
        with self.transaction():
            rows = self._q(
                "INSERT INTO {p}nodes(level, text, hash, user_id, session_id, metadata, created_at,"
                " valid_from, valid_to, superseded_by, parent_id, keywords, fact_key, fact_value,"
                " last_seen, dirty, embedding, extra) VALUES (%s,%s,%s,%s,%s,%s::jsonb,%s,%s,%s,%s,"
                "%s,%s,%s,%s,%s,%s,%s::vector,%s) RETURNING id",
                (
                    int(node.level), node.text, text_hash, node.user_id, node.session_id,
                    json.dumps(node.metadata, sort_keys=True, default=str), node.created_at,
                    node.valid_from, node.valid_to, node.superseded_by, node.parent_id,
                    node.keywords, node.fact_key, node.fact_value,
                    node.last_seen or node.created_at, bool(node.dirty),
                    _vec(embedding) if embedding is not None else None,
                    search_words(node.fact_key) if node.level == Level.EPISODE else "",
                ),
            )
            if node.level == Level.EPISODE:
                self._terms(node.text, +1)
        return int(rows[0][0])

    def _terms(self, text: str, delta: int) -> None:
        terms = sorted(set(content_terms(text)))
        if not terms:
            return
        if delta > 0:
            self._x(
                "INSERT INTO {p}terms(term, df) SELECT unnest(%s::text[]), 1 "
                "ON CONFLICT (term) DO UPDATE SET df = {p}terms.df + 1",
                (terms,),
            )
        else:
            self._x("UPDATE {p}terms SET df = df - 1 WHERE term = ANY(%s)", (terms,))
            self._x("DELETE FROM {p}terms WHERE df <= 0")

    def get_nodes(self, ids: Sequence[int], with_children: bool = False) -> list[MemoryNode]:
        if not ids:
            return []
        found = {
            int(r[0]): _node(r)
            for r in self._q(f"SELECT {_COLS} FROM {{p}}nodes WHERE id = ANY(%s)", (list(ids),))
        }
        if with_children and found:
            for parent, child in self._q(
                "SELECT parent_id, id FROM {p}nodes WHERE parent_id = ANY(%s) ORDER BY id",
                (list(found),),
            ):
                found[int(parent)].children.append(int(child))
        return [found[i] for i in ids if i in found]

    def find_duplicate(self, user_id: str, text_hash: str) -> int | None:
        rows = self._q(
            "SELECT id FROM {p}nodes WHERE user_id = %s AND hash = %s AND level = 0 "
            "AND valid_to IS NULL",
            (user_id, text_hash),
        )
        return int(rows[0][0]) if rows else None

    def find_facts(self, user_id: str, fact_key: str) -> list[MemoryNode]:
        rows = self._q(
            f"SELECT {_COLS} FROM {{p}}nodes WHERE user_id = %s AND fact_key = %s "
            "AND valid_to IS NULL ORDER BY valid_from, id",
            (user_id, fact_key),
        )
        return [_node(r) for r in rows]

    def update_node(self, node_id: int, **fields: Any) -> None:
        bad = set(fields) - UPDATABLE
        if bad:
            raise ConfigError(f"cannot update {sorted(bad)}; updatable: {sorted(UPDATABLE)}")
        if not fields:
            return
        sets: list[str] = []
        values: list[Any] = []
        for key, value in fields.items():
            if key == "metadata":
                sets.append("metadata = %s::jsonb")
                values.append(json.dumps(value, sort_keys=True, default=str))
            else:
                sets.append(f"{key} = %s")
                values.append(bool(value) if key == "dirty" else value)
        with self.transaction():
            if "text" in fields:
                sets.append("embedding = NULL")
                old = self._q("SELECT level, text FROM {p}nodes WHERE id = %s", (node_id,))
                if old and old[0][0] == 0:
                    self._terms(old[0][1], -1)
                    self._terms(fields["text"], +1)
            self._x(f"UPDATE {{p}}nodes SET {', '.join(sets)} WHERE id = %s", (*values, node_id))

    def delete_nodes(self, ids: Sequence[int]) -> None:
        ids = [int(i) for i in ids]
        if not ids:
            return
        with self.transaction():
            for (text,) in self._q(
                "SELECT text FROM {p}nodes WHERE level = 0 AND id = ANY(%s)", (ids,)
            ):
                self._terms(text, -1)
            self._x("DELETE FROM {p}nodes WHERE id = ANY(%s)", (ids,))
            self._x("UPDATE {p}nodes SET superseded_by = NULL WHERE superseded_by = ANY(%s)", (ids,))

    def children_of(self, parent_ids: Sequence[int]) -> list[MemoryNode]:
        if not parent_ids:
            return []
        rows = self._q(
            f"SELECT {_COLS} FROM {{p}}nodes WHERE parent_id = ANY(%s) ORDER BY id",
            (list(parent_ids),),
        )
        return [_node(r) for r in rows]

    def orphans(self, level: Level) -> list[MemoryNode]:
        rows = self._q(
            f"SELECT {_COLS} FROM {{p}}nodes WHERE level = %s AND parent_id IS NULL ORDER BY id",
            (int(level),),
        )
        return [_node(r) for r in rows]

    def nodes(self, level: Level, user_id: str | None = None) -> list[MemoryNode]:
        if user_id is None:
            rows = self._q(
                f"SELECT {_COLS} FROM {{p}}nodes WHERE level = %s ORDER BY id", (int(level),)
            )
        else:
            rows = self._q(
                f"SELECT {_COLS} FROM {{p}}nodes WHERE level = %s AND user_id = %s ORDER BY id",
                (int(level), user_id),
            )
        return [_node(r) for r in rows]

    def dirty_nodes(self) -> list[MemoryNode]:
        rows = self._q(f"SELECT {_COLS} FROM {{p}}nodes WHERE dirty ORDER BY level, id")
        return [_node(r) for r in rows]

    def _where(self, filters: Filters, levels: Sequence[Level]) -> tuple[list[str], list[Any]]:
        where, params = filter_sql(filters, dialect="postgres")
        where.append(f"n.level IN ({','.join(str(int(lv)) for lv in levels)})")
        return where, params

    def select_ids(self, filters: Filters, levels: Sequence[Level]) -> list[int]:
        where, params = self._where(filters, levels)
        rows = self._q(f"SELECT n.id FROM {{p}}nodes n WHERE {' AND '.join(where)} ORDER BY n.id", params)
        return [int(r[0]) for r in rows]

    def filter_ids(self, ids: Sequence[int], filters: Filters) -> list[int]:
        if not ids:
            return []
        where, params = filter_sql(filters, dialect="postgres")
        where.append("n.id = ANY(%s)")
        rows = self._q(f"SELECT n.id FROM {{p}}nodes n WHERE {' AND '.join(where)}", [*params, list(ids)])
        return [int(r[0]) for r in rows]

    # -- search --------------------------------------------------------------------------

    @staticmethod
    def _tsquery(query: str) -> str:
        seen: list[str] = []
        for w in words(query):
            w = re.sub(r"[^a-z0-9]", "", w)
            if len(w) >= 2 and w not in STOPWORDS and w not in seen:
                seen.append(w)
        return " | ".join(seen[:32])

    def text_search(
        self, query: str, k: int, filters: Filters, levels: Sequence[Level],
        ids: Sequence[int] | None = None, parent_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        tsq = self._tsquery(query)
        if not tsq or k <= 0 or (ids is not None and not ids) or (
            parent_ids is not None and not parent_ids
        ):
            return []
        where, params = self._where(filters, levels)
        if ids is not None:
            where.append("n.id = ANY(%s)")
            params.append(list(ids))
        if parent_ids is not None:
            where.append("n.parent_id = ANY(%s)")
            params.append(list(parent_ids))
        rows = self._q(
            "SELECT n.id, ts_rank_cd(n.tsv, q, 1) AS s FROM {p}nodes n, "
            "to_tsquery('english', %s) q WHERE n.tsv @@ q AND "
            f"{' AND '.join(where)} ORDER BY s DESC, n.id LIMIT %s",
            [tsq, *params, k],
        )
        return [(int(i), float(s)) for i, s in rows]

    def vector_search(
        self, vector: Sequence[float], k: int, filters: Filters, levels: Sequence[Level],
        ids: Sequence[int] | None = None, parent_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        if k <= 0 or (ids is not None and not ids) or (parent_ids is not None and not parent_ids):
            return []
        where, params = self._where(filters, levels)
        where.append("n.embedding IS NOT NULL")
        if ids is not None:
            where.append("n.id = ANY(%s)")
            params.append(list(ids))
        if parent_ids is not None:
            where.append("n.parent_id = ANY(%s)")
            params.append(list(parent_ids))
        q = _vec(vector)
        rows = self._q(
            "SELECT n.id, 1 - (n.embedding <=> %s::vector) AS s FROM {p}nodes n WHERE "
            f"{' AND '.join(where)} ORDER BY n.embedding <=> %s::vector, n.id LIMIT %s",
            [q, *params, q, k],
        )
        return [(int(i), float(s)) for i, s in rows]

    def set_embeddings(self, items: Sequence[tuple[int, Sequence[float]]]) -> None:
        with self.transaction(), self._lock:
            cur = self._conn.cursor()
            cur.executemany(
                f"UPDATE {self._p}nodes SET embedding = %s::vector WHERE id = %s",
                [(_vec(v), int(i)) for i, v in items],
            )

    def without_embedding(self, limit: int) -> list[tuple[int, str]]:
        rows = self._q(
            "SELECT id, text FROM {p}nodes WHERE embedding IS NULL ORDER BY id LIMIT %s", (limit,)
        )
        return [(int(i), t) for i, t in rows]

    def clear_embeddings(self) -> None:
        with self.transaction():
            self._x("UPDATE {p}nodes SET embedding = NULL WHERE embedding IS NOT NULL")

    # -- meta, history, stats ------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM {p}meta WHERE key = %s", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._x(
                "INSERT INTO {p}meta(key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def log(self, event: str, node_id: int | None, detail: dict[str, Any] | None = None) -> None:
        with self.transaction():
            self._x(
                "INSERT INTO {p}history(at, event, node_id, detail) VALUES (%s, %s, %s, %s::jsonb)",
                (time.time(), event, node_id, json.dumps(detail or {}, default=str)),
            )

    def history(self, node_id: int | None = None) -> list[dict[str, Any]]:
        if node_id is None:
            rows = self._q("SELECT at, event, node_id, detail FROM {p}history ORDER BY id")
        else:
            rows = self._q(
                "SELECT at, event, node_id, detail FROM {p}history WHERE node_id = %s ORDER BY id",
                (node_id,),
            )
        return [{"at": a, "event": e, "node_id": n, "detail": d} for a, e, n, d in rows]

    def count(self, level: Level | None = None) -> int:
        if level is None:
            return int(self._q("SELECT count(*) FROM {p}nodes")[0][0])
        return int(self._q("SELECT count(*) FROM {p}nodes WHERE level = %s", (int(level),))[0][0])

    def term_stats(self, terms: Sequence[str]) -> dict[str, float]:
        terms = sorted(set(terms))
        if not terms:
            return {}
        n = max(self.count(Level.EPISODE), 1)
        rows = dict(self._q("SELECT term, df FROM {p}terms WHERE term = ANY(%s)", (terms,)))
        return {t: math.log(1 + n / (1 + int(rows.get(t, 0)))) for t in terms}

    def purge(self) -> None:
        with self._lock:
            if self._depth == 0:
                for table in ("nodes", "terms", "history"):
                    self._x(f"VACUUM {{p}}{table}")

    def drop(self) -> None:
        """Delete this memory's tables (all of its data)."""
        with self.transaction():
            for table in ("nodes", "terms", "history", "meta"):
                self._x(f"DROP TABLE IF EXISTS {{p}}{table}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
