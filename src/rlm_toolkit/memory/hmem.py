"""`HierarchicalMemory`: the H-MEM external memory (episode -> trace -> category -> domain).

    hmem = HierarchicalMemory()                  # in memory; path="mem.db" persists
    hmem.add_episode("The user likes Python")
    hmem.consolidate()                           # group into traces, categories, domains
    block = hmem.retrieve("what does the user like?", k=5)
    str(block)                                   # prompt-ready; iterate for scored hits
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .consolidate import (
    ConsolidationReport,
    ConsolidationSettings,
    PlanConflict,
    apply,
    child_texts,
    make_summarizer,
    plan,
    write_summaries,
)
from .embedders import Embedder, resolve_embedder
from .facts import extract_fact, search_words
from .llm import as_text_fn, contradiction_prompt
from .sqlite_store import SQLiteStore
from .store import MemoryStore
from .text import bm25_scores, content_terms, extractive_summary, match_fraction, text_hash
from .types import Filters, Level, MemoryHit, MemoryNode, RetrievalResult
from .vectors import ANN_THRESHOLD

Timestamp = float | datetime | None


def _ts(value: Timestamp, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


class HierarchicalMemory:
    """A persistent, hierarchical external memory with hybrid retrieval.

    Args:
        path: SQLite file to persist to (None keeps everything in memory).
        store: any `MemoryStore` (e.g. `PostgresStore`) instead of `path`.
        embedder: None (BM25 only), "wordllama", an `Embedder`, or a callable
            `list[str] -> array`.
        llm: default LLM for summaries and contradiction judging: a callable `str -> str`, a
            Provider, or an `RLM` (its sub-model is used).
        user_id: default user scope of writes and reads (None reads every user).
        judge_contradictions: ask `llm` which older memories a new one makes outdated (in
            addition to the deterministic same-subject-and-relation rule).
        dense_weight: weight of the dense score in the fusion (text gets 1 - dense_weight).
        half_life_days: the age at which an older memory has lost half of `decay_weight`.
        decay_weight: the most of its score an older memory can lose with age.
        superseded_penalty: score factor of outdated (superseded) episodes.
        beam: nodes kept per level when routing top-down (0 turns routing off).
        dense_match_floor: a cosine similarity from which a hit's `match` (absolute relevance,
            used by `min_match`) counts the dense score and not only the shared words.
        synchronous: SQLite's synchronous mode: "NORMAL" survives kill -9, "FULL" power loss.
        ann_threshold: vectors from which dense search uses an HNSW index (the `ann` extra)
            instead of exact search; None keeps it exact. Only for the default SQLite store.
        clock: the time source (seconds since the epoch); tests and benches may fix it.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        store: MemoryStore | None = None,
        embedder: Embedder | Callable[[list[str]], Any] | str | None = None,
        llm: Any = None,
        user_id: str | None = None,
        judge_contradictions: bool = False,
        dense_weight: float = 0.5,
        half_life_days: float = 90.0,
        decay_weight: float = 0.15,
        superseded_penalty: float = 0.5,
        route_weight: float = 0.1,
        beam: int = 4,
        dense_match_floor: float = 0.8,
        settings: ConsolidationSettings | None = None,
        synchronous: str = "NORMAL",
        ann_threshold: int | None = ANN_THRESHOLD,
        clock: Callable[[], float] = time.time,
    ):
        if store is not None and path is not None:
            raise ConfigError("give either path= or store=, not both")
        if not 0.0 <= dense_weight <= 1.0:
            raise ConfigError(f"dense_weight={dense_weight} must be between 0 and 1")
        self.store: MemoryStore = store if store is not None else SQLiteStore(
            path, synchronous, ann_threshold
        )
        self.embedder = resolve_embedder(embedder)
        self.llm = llm
        self.user_id = user_id
        self.judge_contradictions = judge_contradictions
        self.dense_weight = dense_weight if self.embedder is not None else 0.0
        self.half_life_s = half_life_days * 86400.0
        self.decay_weight = decay_weight
        self.superseded_penalty = superseded_penalty
        self.route_weight = route_weight
        self.beam = beam
        self.dense_match_floor = dense_match_floor
        self.settings = settings or ConsolidationSettings()
        self.clock = clock
        self._consolidating = threading.Lock()
        self._terms_cache: dict[tuple[int, str, str], list[str]] = {}
        if self.embedder is not None:
            stored = self.store.get_meta("embedder")
            if stored != self.embedder.name:
                if stored is not None:
                    self.store.clear_embeddings()
                self.store.set_meta("embedder", self.embedder.name)
            self._embed_pending()

    # -- writing --------------------------------------------------------------------------

    def add_episode(
        self,
        text: str,
        metadata: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        session_id: str = "",
        timestamp: Timestamp = None,
    ) -> int:
        """Store one episode and return its id; durable once this returns.

        An identical current episode of the same user is not stored twice (its id is returned).
        A statement contradicting an older one (same subject and relation, another value:
        "Alice lives in Berlin" after "Alice lives in Paris") supersedes it.
        """
        return self.add_episodes(
            [{"text": text, "metadata": metadata, "user_id": user_id, "session_id": session_id,
              "timestamp": timestamp}]
        )[0]

    def add_episodes(self, items: Iterable[str | dict[str, Any]]) -> list[int]:
        """Store many episodes in one transaction (faster); items are texts or dicts with the
        keyword arguments of `add_episode`."""
        rows: list[dict[str, Any]] = []
        now = self.clock()
        for item in items:
            d: dict[str, Any] = {"text": item} if isinstance(item, str) else dict(item)
            text = str(d.get("text") or "").strip()
            if not text:
                raise ConfigError("an episode needs non-empty text")
            user = d.get("user_id")
            rows.append({
                "text": text,
                "metadata": dict(d.get("metadata") or {}),
                "user_id": str(user if user is not None else (self.user_id or "")),
                "session_id": str(d.get("session_id") or ""),
                "ts": _ts(d.get("timestamp"), now),
            })
        vectors: list[Any] = [None] * len(rows)
        if self.embedder is not None and rows:
            vectors = list(self.embedder.embed([r["text"] for r in rows]))
        judged: list[list[int]] = [[] for _ in rows]
        judge = as_text_fn(self.llm) if self.judge_contradictions else None
        if judge is not None:
            judged = [self._judge(judge, r) for r in rows]
        ids: list[int] = []
        with self.store.transaction():
            for row, vec, outdated in zip(rows, vectors, judged, strict=True):
                ids.append(self._insert(row, vec, outdated, now))
        return ids

    def _insert(self, row: dict[str, Any], vector: Any, outdated: list[int], now: float) -> int:
        store = self.store
        h = text_hash(row["text"])
        dup = store.find_duplicate(row["user_id"], h)
        if dup is not None:
            store.update_node(dup, last_seen=max(now, row["ts"]))
            store.log("repeat", dup)
            return dup
        fact = extract_fact(row["text"])
        ts = row["ts"]
        node = MemoryNode(
            id=0, level=Level.EPISODE, text=row["text"], user_id=row["user_id"],
            session_id=row["session_id"], metadata=row["metadata"], created_at=ts,
            valid_from=ts, last_seen=ts, fact_key=fact.key if fact else None,
            fact_value=fact.value if fact else None,
        )
        new_id = store.insert_node(node, h, vector)
        store.log("add", new_id)
        older: list[MemoryNode] = []
        if fact is not None:
            older = [o for o in store.find_facts(row["user_id"], fact.key)
                     if o.id != new_id and o.fact_value != fact.value]
        if outdated:
            older += [o for o in store.get_nodes(outdated)
                      if o.valid_to is None and o.id != new_id and o.user_id == row["user_id"]
                      and o.level == Level.EPISODE and o.id not in {x.id for x in older}]
        for old in older:
            if old.valid_from <= ts:
                self._supersede(old, new_id, ts)
            else:  # the new episode is older than what is known: it is history already
                self._supersede(node_with_id(node, new_id), old.id, old.valid_from)
                break
        return new_id

    def _supersede(self, old: MemoryNode, new_id: int, at: float) -> None:
        self.store.update_node(old.id, valid_to=at, superseded_by=new_id)
        if old.parent_id is not None:
            self.store.update_node(old.parent_id, dirty=True)
        self.store.log("supersede", old.id, {"by": new_id})

    def _judge(self, judge: Callable[[str], str], row: dict[str, Any]) -> list[int]:
        hits = self.store.text_search(
            row["text"], 5, Filters(user_id=row["user_id"], include_superseded=False),
            [Level.EPISODE],
        )
        nodes = self.store.get_nodes([i for i, _ in hits])
        if not nodes:
            return []
        answer = judge(contradiction_prompt(row["text"], [(n.id, n.text) for n in nodes]))
        known = {n.id for n in nodes}
        out = []
        for tok in answer.replace("[", " ").replace("]", " ").replace(",", " ").split():
            if tok.isdigit() and int(tok) in known:
                out.append(int(tok))
        return out

    # -- consolidation ----------------------------------------------------------------------

    def consolidate(self, llm: Any = None) -> ConsolidationReport:
        """Group episodes not yet consolidated into traces, traces into categories, categories
        into domains, and (re)write the summaries that changed.

        Summaries are written by `llm` (a callable, a Provider or an RLM; else the memory's
        `llm`) when one is given, else extracted from the children deterministically.
        Incremental and idempotent: a second call with nothing new changes nothing. The whole
        change is one transaction.
        """
        start = time.perf_counter()
        report = ConsolidationReport()
        fn = as_text_fn(llm if llm is not None else self.llm)
        summarize = make_summarizer(self.settings, fn, report)
        with self._consolidating:
            for _attempt in range(5):
                p = plan(self.store, self.settings)
                if p.empty:
                    break
                write_summaries(self.store, p, summarize, self.settings)
                try:
                    ids = apply(self.store, p, now=self.clock())
                except PlanConflict:
                    continue
                report.episodes = p.episodes
                for key in ids:
                    name = p.parents[key].level.name.lower()
                    report.created[name] = report.created.get(name, 0) + 1
                report.updated = len(p.rebuild)
                break
            else:
                raise RuntimeError("consolidation kept conflicting with concurrent writes; retry")
        self._embed_pending()
        report.elapsed_s = time.perf_counter() - start
        return report

    def _embed_pending(self, batch: int = 512) -> None:
        if self.embedder is None:
            return
        while True:
            todo = self.store.without_embedding(batch)
            if not todo:
                return
            vecs = self.embedder.embed([t for _, t in todo])
            self.store.set_embeddings([(i, v) for (i, _), v in zip(todo, vecs, strict=True)])

    # -- retrieval --------------------------------------------------------------------------

    def retrieve(
        self,
        query: str,
        k: int = 5,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        since: Timestamp = None,
        until: Timestamp = None,
        as_of: Timestamp = None,
        metadata: dict[str, Any] | None = None,
        include_superseded: bool = True,
        include_summaries: bool = False,
        min_match: float = 0.0,
    ) -> RetrievalResult:
        """The `k` memories most relevant to `query`, best first.

        Text (BM25) and, with an embedder, dense cosine scores are each normalised over the
        candidates and mixed with `dense_weight`. Candidates come from a flat search and from
        routing top-down through domains, categories and traces (a beam per level), so routing
        only adds to what flat search finds. Older memories rank a little lower (decay),
        outdated ones lower still. `min_match` (0..1) drops hits whose absolute relevance is
        below it, which lets a caller abstain when nothing fits.
        """
        if k <= 0 or not query.strip():
            return RetrievalResult(query)
        filters = Filters(
            user_id=user_id if user_id is not None else self.user_id,
            session_id=session_id, since=_ts(since, 0) if since is not None else None,
            until=_ts(until, 0) if until is not None else None,
            as_of=_ts(as_of, 0) if as_of is not None else None,
            metadata=metadata, include_superseded=include_superseded,
        )
        levels = [Level.EPISODE]
        if include_summaries:
            levels += [Level.TRACE, Level.CATEGORY, Level.DOMAIN]
        qvec = self.embedder.embed([query])[0] if self.embedder is not None else None
        pool = max(50, 5 * k)
        text = dict(self.store.text_search(query, pool, filters, levels))
        dense = dict(self.store.vector_search(qvec, pool, filters, levels)) if qvec is not None else {}
        qterms = set(content_terms(query))
        idf = self.store.term_stats(sorted(qterms))
        route = self._route(qterms, idf, qvec, filters)
        candidates = set(text) | set(dense) | set(route)
        if not candidates:
            return RetrievalResult(query)
        # Normalise with the flat lists only, so extra routed candidates change no flat score.
        tmax = max(text.values(), default=0.0)
        dmin, dmax = (min(dense.values()), max(dense.values())) if dense else (0.0, 0.0)
        missing = sorted(candidates - set(text))
        if missing:
            text.update(self.store.text_search(query, len(missing), filters, levels, ids=missing))
        if qvec is not None:
            missing = sorted(candidates - set(dense))
            if missing:
                dense.update(self.store.vector_search(qvec, len(missing), filters, levels, ids=missing))
        nodes = {n.id: n for n in self.store.get_nodes(sorted(candidates))}
        nodes = {i: n for i, n in nodes.items() if n.level in levels}
        # Decay counts from the moment asked about; an as_of query asks about the past, where
        # what was valid then is not outdated.
        now = filters.as_of if filters.as_of is not None else self.clock()
        scored: list[tuple[float, MemoryNode]] = []
        for i, n in nodes.items():
            t = text.get(i, 0.0) / tmax if tmax > 0 else 0.0
            d = 0.0
            if i in dense:
                d = max(0.0, (dense[i] - dmin) / (dmax - dmin)) if dmax > dmin else 1.0
            score = (1 - self.dense_weight) * t + self.dense_weight * d
            score += self.route_weight * route.get(i, 0.0)
            age = max(0.0, now - max(n.valid_from, n.last_seen))
            decay = 0.5 ** (age / self.half_life_s) if self.half_life_s > 0 else 1.0
            score *= (1 - self.decay_weight) + self.decay_weight * decay
            if n.valid_to is not None and (filters.as_of is None or n.valid_to <= filters.as_of):
                score *= self.superseded_penalty
            scored.append((round(score, 6), n))
        scored.sort(key=lambda x: (-x[0], -x[1].valid_from, x[1].id))
        # The absolute relevance (`match`) is computed best first, only until k hits pass.
        hits: list[MemoryHit] = []
        for score, n in scored:
            words = search_words(n.fact_key) if n.level == Level.EPISODE else ""
            match = match_fraction(qterms, f"{n.text} {words}", idf)
            if n.id in dense and dense[n.id] >= self.dense_match_floor:
                match = max(match, float(dense[n.id]))
            if match < min_match:
                continue
            hits.append(MemoryHit(
                id=n.id, text=n.text, score=score, level=n.level, created_at=n.created_at,
                valid_from=n.valid_from, valid_to=n.valid_to, superseded_by=n.superseded_by,
                metadata=n.metadata, user_id=n.user_id, session_id=n.session_id,
                match=round(match, 4),
            ))
            if len(hits) == k:
                break
        return RetrievalResult(query, hits)

    def search(self, query: str, k: int = 5, **filters: Any) -> RetrievalResult:
        """Alias of `retrieve` (the name the REPL's `memory.search` uses)."""
        return self.retrieve(query, k, **filters)

    def _route(
        self, qterms: set[str], idf: dict[str, float], qvec: Any, filters: Filters
    ) -> dict[int, float]:
        """Episodes reached top-down through the hierarchy, with their trace's score (0..1)."""
        if self.beam <= 0:
            return {}
        beam: list[int] | None = None
        scores: dict[int, float] = {}
        for level in (Level.DOMAIN, Level.CATEGORY, Level.TRACE):
            k = self.beam if beam is None else self.beam * 2
            found = self._fused(qterms, idf, qvec, filters.user_id, level, k, parent_ids=beam)
            if beam is None and not found:
                continue  # this level does not exist yet: start lower
            if not found:
                return {}
            best = max(found.values())
            scores = {i: (s / best if best > 0 else 0.0) for i, s in found.items()}
            beam = sorted(scores, key=lambda i: -scores[i])[: self.beam * (1 if level > 1 else 2)]
        if not beam:
            return {}
        out: dict[int, float] = {}
        for child in self.store.children_of(beam):
            if child.level == Level.EPISODE and child.parent_id is not None:
                out[child.id] = scores.get(child.parent_id, 0.0)
        allowed = set(self.store.filter_ids(sorted(out), filters)) if out else set()
        return {i: s for i, s in out.items() if i in allowed}

    def _fused(
        self, qterms: set[str], idf: dict[str, float], qvec: Any, user_id: str | None,
        level: Level, k: int, parent_ids: list[int] | None,
    ) -> dict[int, float]:
        """The k best summaries of a level (under `parent_ids`, if given), text and dense
        scores fused. Summaries are few, so their text is scored here (BM25 over summary and
        keywords) rather than by a full-text query over every episode."""
        if parent_ids is None:
            nodes = self.store.nodes(level, user_id)
        else:
            nodes = [n for n in self.store.children_of(parent_ids)
                     if n.level == level and (user_id is None or n.user_id == user_id)]
        if not nodes:
            return {}
        docs = [self._summary_terms(n) for n in nodes]
        ranked = sorted(zip(bm25_scores(qterms, docs, idf), (n.id for n in nodes), strict=True),
                        key=lambda x: (-x[0], x[1]))
        text = {i: sc for sc, i in ranked[:k] if sc > 0}
        dense: dict[int, float] = {}
        if qvec is not None:
            dense = dict(self.store.vector_search(qvec, k, Filters(), [level],
                                                  ids=[n.id for n in nodes]))
        tmax = max(text.values(), default=0.0)
        out: dict[int, float] = {}
        for i in set(text) | set(dense):
            t = text.get(i, 0.0) / tmax if tmax > 0 else 0.0
            d = max(0.0, dense.get(i, 0.0))
            out[i] = (1 - self.dense_weight) * t + self.dense_weight * d
        return out

    def _summary_terms(self, node: MemoryNode) -> list[str]:
        """A summary's text terms and stored key terms, tokenised once per text (the LLM's
        wording routes too; the key terms cover every child)."""
        key = (node.id, node.text, node.keywords)
        terms = self._terms_cache.get(key)
        if terms is None:
            terms = content_terms(node.text) + node.keywords.split()
            if len(self._terms_cache) >= 50_000:
                self._terms_cache.clear()
            self._terms_cache[key] = terms
        return terms

    # -- forgetting ---------------------------------------------------------------------------

    def forget(
        self,
        target: int | str | Sequence[int] | None = None,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        before: Timestamp = None,
        metadata: dict[str, Any] | None = None,
        everything: bool = False,
    ) -> int:
        """Delete episodes for good and return how many were deleted.

        `target` is an episode id, a list of ids, or an episode's exact text; or select by
        `user_id`, `session_id`, `before` (created before) and `metadata`. Rows, text-index
        entries, vectors and the history's references go, and every summary that quoted them
        is rewritten (summaries left without children are deleted). `everything=True` erases
        the whole memory.
        """
        if target is None and not everything and user_id is None and session_id is None \
                and before is None and not metadata:
            raise ConfigError("forget() needs ids, a text, a filter, or everything=True")
        with self.store.transaction():
            if isinstance(target, str):
                ids = [i for i in [self.store.find_duplicate(
                    user_id if user_id is not None else (self.user_id or ""), text_hash(target))]
                    if i is not None]
                ids += [n.id for n in self.store.nodes(Level.EPISODE)
                        if n.valid_to is not None and text_hash(n.text) == text_hash(target)
                        and (user_id is None or n.user_id == user_id)]
            elif target is not None:
                ids = [int(target)] if isinstance(target, int) else [int(i) for i in target]
                ids = [n.id for n in self.store.get_nodes(ids) if n.level == Level.EPISODE]
            else:
                filters = Filters(user_id=user_id, session_id=session_id,
                                  until=_ts(before, 0) - 1e-6 if before is not None else None,
                                  metadata=metadata)
                ids = self.store.select_ids(filters, [Level.EPISODE])
            if not ids:
                return 0
            parents = {n.parent_id for n in self.store.get_nodes(ids) if n.parent_id is not None}
            self.store.delete_nodes(ids)
            for i in ids:
                self.store.log("forget", i)
            self._rebuild_after_delete(parents)
        self.store.purge()
        self._embed_pending()
        return len(ids)

    def _rebuild_after_delete(self, parents: set[int]) -> None:
        """Rewrite (extractively) or delete the summaries above deleted nodes, bottom-up."""
        frontier = set(parents)
        while frontier:
            nxt: set[int] = set()
            for node in sorted(self.store.get_nodes(sorted(frontier)), key=lambda n: n.level):
                kids = self.store.children_of([node.id])
                if node.parent_id is not None:
                    nxt.add(node.parent_id)
                if not kids:
                    self.store.delete_nodes([node.id])
                    self.store.log("forget", node.id, {"summary": True})
                    continue
                texts = child_texts(kids)
                chars = self.settings.summary_chars[int(node.level) - 1]
                terms: dict[str, int] = {}
                for t in texts:
                    for w in set(content_terms(t)):
                        terms[w] = terms.get(w, 0) + 1
                kw = " ".join(sorted(terms, key=lambda w: (-terms[w], w))[: self.settings.keywords])
                self.store.update_node(
                    node.id, text=extractive_summary(texts, max_chars=chars), keywords=kw,
                    dirty=self.llm is not None,
                )
            frontier = nxt

    # -- inspection ---------------------------------------------------------------------------

    def get(self, node_id: int) -> MemoryNode | None:
        """One node with its children's ids, or None."""
        found = self.store.get_nodes([node_id], with_children=True)
        return found[0] if found else None

    def history(self, node_id: int | None = None) -> list[dict[str, Any]]:
        """Logged events (add, repeat, supersede, consolidate, forget), oldest first."""
        return self.store.history(node_id)

    def stats(self) -> dict[str, int]:
        """Number of nodes per level."""
        return {lv.name.lower(): self.store.count(lv) for lv in Level}

    def __len__(self) -> int:
        return self.store.count(Level.EPISODE)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> HierarchicalMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def node_with_id(node: MemoryNode, node_id: int) -> MemoryNode:
    """A copy of `node` carrying its stored id."""
    return MemoryNode(**{**node.__dict__, "id": node_id, "children": []})
