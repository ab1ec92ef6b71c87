"""Consolidation: group nodes without a parent one level up and write their summaries.

Episodes go into traces, traces into categories, categories into domains. Grouping is greedy,
incremental and deterministic: each orphan joins the most similar open parent of its user
(idf-weighted share of its key terms that the parent has) when that share reaches the level's
threshold, else it starts a new parent. Summaries are written bottom-up by an LLM when one is
given, else extracted from the children. The whole plan is applied in one transaction after
checking that nothing it relied on changed meanwhile.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .llm import summary_prompt
from .store import MemoryStore
from .text import STOPWORDS, content_terms, extractive_summary, stem, text_hash, top_terms
from .types import Level, MemoryNode

_CAPS = re.compile(r"\b[A-Z][A-Za-z0-9\-]+")
SummarizeFn = Callable[[Level, list[str]], str]


@dataclass(frozen=True)
class ConsolidationSettings:
    """Grouping thresholds and fan-out limits per parent level (trace, category, domain)."""

    threshold: tuple[float, float, float] = (0.25, 0.15, 0.08)
    entity_boost: float = 3.0
    max_children: tuple[int, int, int] = (12, 12, 24)
    lookup_terms: int = 6
    keywords: int = 24
    summary_chars: tuple[int, int, int] = (400, 500, 600)


_Item = tuple[int, str, set[str], set[str]]  # key, user, terms, entity terms


@dataclass
class _Parent:
    key: int  # a real id (> 0) or a temporary one (< 0)
    level: Level
    user_id: str
    terms: Counter[str] = field(default_factory=Counter)
    size: int = 0
    new: bool = False
    children: list[int] = field(default_factory=list)  # new children assigned in this plan


@dataclass
class ConsolidationPlan:
    """What one consolidation will write."""

    orphans: dict[int, int] = field(default_factory=dict)  # child key -> parent key
    parents: dict[int, _Parent] = field(default_factory=dict)
    rebuild: set[int] = field(default_factory=set)  # existing summary ids to re-summarise
    texts: dict[int, str] = field(default_factory=dict)  # new summary texts by key
    keywords: dict[int, str] = field(default_factory=dict)
    expected_orphans: set[int] = field(default_factory=set)
    episodes: int = 0  # episodes placed into traces

    @property
    def empty(self) -> bool:
        return not self.orphans and not self.rebuild


@dataclass
class ConsolidationReport:
    """What `consolidate()` did."""

    episodes: int = 0
    created: dict[str, int] = field(default_factory=dict)
    updated: int = 0
    llm_calls: int = 0
    elapsed_s: float = 0.0


def _terms_of(node: MemoryNode) -> set[str]:
    if node.level == Level.EPISODE:
        return set(content_terms(node.text))
    return set(node.keywords.split()) or set(content_terms(node.text))


def _entities(node: MemoryNode) -> set[str]:
    """Stems of capitalised content words (names of people, places, projects)."""
    if node.level != Level.EPISODE:
        return set()
    return {stem(w) for w in _CAPS.findall(node.text) if w.lower() not in STOPWORDS}


def plan(store: MemoryStore, settings: ConsolidationSettings) -> ConsolidationPlan:
    """Decide, without writing, where each orphan goes and which summaries change."""
    p = ConsolidationPlan()
    next_key = -1
    pending: list[_Item] = []  # orphans of the level being grouped
    for node in store.orphans(Level.EPISODE):
        pending.append((node.id, node.user_id, _terms_of(node), _entities(node)))
        p.expected_orphans.add(node.id)
    p.episodes = len(pending)
    dirty = store.dirty_nodes()
    p.rebuild.update(n.id for n in dirty)
    for parent_level in (Level.TRACE, Level.CATEGORY, Level.DOMAIN):
        i = int(parent_level) - 1
        existing_orphans = store.orphans(Level(parent_level - 1)) if parent_level > 1 else []
        for node in existing_orphans:
            pending.append((node.id, node.user_id, _terms_of(node), set()))
            p.expected_orphans.add(node.id)
        if not pending:
            continue
        all_terms = {t for _, _, ts, _ in pending for t in ts}
        idf = store.term_stats(sorted(all_terms))
        # A term found in exactly one episode (an id, a number) cannot link two groups: it
        # would only dilute the overlap, so it gets no weight.
        once = math.log(1 + max(store.count(Level.EPISODE), 1) / 2)
        unique = {t for t, v in idf.items() if abs(v - once) < 1e-9}
        by_user: dict[str, list[_Item]] = defaultdict(list)
        for item in pending:
            by_user[item[1]].append(item)
        created: list[_Item] = []
        for user_id, items in by_user.items():
            parents: dict[int, _Parent] = {}
            inverted: dict[str, set[int]] = defaultdict(set)
            existing = store.get_nodes(
                [n.id for n in store.nodes(parent_level, user_id)], with_children=True
            )
            for node in existing:
                par = _Parent(node.id, parent_level, user_id, Counter(node.keywords.split()),
                              len(node.children))
                parents[par.key] = par
                if par.size < settings.max_children[i]:
                    for t in par.terms:
                        inverted[t].add(par.key)
            for key, _user, terms, entities in items:
                boost = settings.entity_boost
                weights = {t: idf.get(t, 1.0) * (boost if t in entities else 1.0)
                           for t in sorted(terms) if t not in unique}
                if not weights:
                    weights = {t: idf.get(t, 1.0) for t in sorted(terms)}
                total = sum(weights.values())
                lookup = sorted(weights, key=lambda t: (-weights[t], t))[: settings.lookup_terms]
                candidates: set[int] = set()
                for t in lookup:
                    candidates |= inverted.get(t, set())
                best, best_score = None, 0.0
                for ck in sorted(candidates):
                    par = parents[ck]
                    score = sum(w for t, w in weights.items() if t in par.terms) / total if total else 0.0
                    if score > best_score:
                        best, best_score = par, score
                if best is None or best_score < settings.threshold[i]:
                    best = _Parent(next_key, parent_level, user_id, new=True)
                    next_key -= 1
                    parents[best.key] = best
                    p.parents[best.key] = best
                elif not best.new:
                    p.parents[best.key] = best
                    p.rebuild.add(best.key)
                best.terms.update(terms)
                best.size += 1
                best.children.append(key)
                p.orphans[key] = best.key
                for t in terms:
                    inverted[t].add(best.key)
                if best.size >= settings.max_children[i]:
                    for t in best.terms:
                        inverted[t].discard(best.key)
            for par in parents.values():
                if par.new:
                    kw = [t for t, _ in top_terms(par.terms, settings.keywords)]
                    created.append((par.key, user_id, set(kw), set()))
        pending = created
    # Re-summarising an existing node changes its parent's summary too.
    _propagate(store, p)
    return p


def _propagate(store: MemoryStore, p: ConsolidationPlan) -> None:
    frontier = [k for k in p.rebuild if k > 0]
    seen = set(frontier)
    while frontier:
        nodes = store.get_nodes(frontier)
        frontier = []
        for n in nodes:
            if n.parent_id is not None and n.parent_id not in seen:
                seen.add(n.parent_id)
                p.rebuild.add(n.parent_id)
                frontier.append(n.parent_id)


def child_texts(node_children: Sequence[MemoryNode]) -> list[str]:
    """Texts a summary is made of: current children first; outdated ones only if all are."""
    current = [c.text for c in node_children if c.valid_to is None and c.text]
    return current or [c.text for c in node_children if c.text]


def make_summarizer(
    settings: ConsolidationSettings, llm: Callable[[str], str] | None, report: ConsolidationReport
) -> SummarizeFn:
    """A function writing one summary of a level from child texts (LLM or extractive)."""

    def summarize(level: Level, texts: list[str]) -> str:
        chars = settings.summary_chars[int(level) - 1]
        if llm is not None and texts:
            report.llm_calls += 1
            out = " ".join(llm(summary_prompt(level.name.lower(), texts, max(20, chars // 6))).split())
            if out:
                return out[: chars * 2]
        return extractive_summary(texts, max_chars=chars)

    return summarize


def write_summaries(
    store: MemoryStore, p: ConsolidationPlan, summarize: SummarizeFn,
    settings: ConsolidationSettings,
) -> None:
    """Compute the text and keywords of every new or rebuilt summary, bottom-up."""
    rebuild_nodes = {n.id: n for n in store.get_nodes(sorted(p.rebuild))}
    levels: dict[int, Level] = {k: par.level for k, par in p.parents.items()}
    levels.update({i: n.level for i, n in rebuild_nodes.items()})
    existing_children: dict[int, list[MemoryNode]] = defaultdict(list)
    real = [k for k in levels if k > 0]
    for c in store.children_of(real):
        if c.parent_id is not None:
            existing_children[c.parent_id].append(c)
    new_children: dict[int, list[int]] = defaultdict(list)
    for child, parent in p.orphans.items():
        new_children[parent].append(child)
    orphan_nodes = {n.id: n for n in store.get_nodes([k for k in p.orphans if k > 0])}
    for level in (Level.TRACE, Level.CATEGORY, Level.DOMAIN):
        for key in sorted(k for k, lv in levels.items() if lv == level):
            kids = [c for c in existing_children.get(key, []) if c.id not in p.orphans]
            texts_nodes: list[MemoryNode] = []
            for c in kids:
                texts_nodes.append(_with_text(c, p))
            for ck in new_children.get(key, []):
                if ck > 0 and ck in orphan_nodes:
                    texts_nodes.append(_with_text(orphan_nodes[ck], p))
                elif ck in p.texts:
                    texts_nodes.append(MemoryNode(id=ck, level=Level(level - 1), text=p.texts[ck]))
            texts = child_texts(texts_nodes)
            p.texts[key] = summarize(level, texts)
            terms: Counter[str] = Counter()
            for t in texts:
                terms.update(set(content_terms(t)))
            p.keywords[key] = " ".join(t for t, _ in top_terms(terms, settings.keywords))


def _with_text(node: MemoryNode, p: ConsolidationPlan) -> MemoryNode:
    if node.id in p.texts:
        return MemoryNode(id=node.id, level=node.level, text=p.texts[node.id],
                          valid_to=node.valid_to)
    return node


class PlanConflict(RuntimeError):
    """Something the plan relied on changed before it could be applied."""


def apply(store: MemoryStore, p: ConsolidationPlan, now: float | None = None) -> dict[int, int]:
    """Write the plan in one transaction; returns temporary key -> new id."""
    now = time.time() if now is None else now
    ids: dict[int, int] = {}
    with store.transaction():
        check = store.get_nodes(sorted(p.expected_orphans))
        if len(check) != len(p.expected_orphans) or any(n.parent_id is not None for n in check):
            raise PlanConflict("orphans changed while consolidating")
        real_parents = sorted(k for k in set(p.orphans.values()) | p.rebuild if k > 0)
        if len(store.get_nodes(real_parents)) != len(real_parents):
            raise PlanConflict("a parent was deleted while consolidating")
        for key in sorted((k for k in p.parents if k < 0), key=lambda k: (p.parents[k].level, -k)):
            par = p.parents[key]
            text = p.texts.get(key, "")
            node = MemoryNode(
                id=0, level=par.level, text=text, user_id=par.user_id, created_at=now,
                valid_from=now, keywords=p.keywords.get(key, ""), last_seen=now,
            )
            ids[key] = store.insert_node(node, text_hash(f"{par.level}:{key}:{now}:{text}"))
        for child, parent in p.orphans.items():
            store.update_node(ids.get(child, child), parent_id=ids.get(parent, parent))
        for key in sorted(p.rebuild):
            if key in p.texts and not p.texts[key]:
                store.delete_nodes([key])  # no children left
            elif key in p.texts:
                store.update_node(key, text=p.texts[key], keywords=p.keywords.get(key, ""),
                                  dirty=False)
        store.log("consolidate", None, {
            "assigned": len(p.orphans), "created": len(ids), "rebuilt": len(p.rebuild),
        })
    return ids
