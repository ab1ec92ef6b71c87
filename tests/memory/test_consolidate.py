"""Consolidation: four levels, pointers, summaries (LLM or extractive), idempotence."""

from __future__ import annotations

import asyncio
import random

from rlm_toolkit.memory import HierarchicalMemory, Level
from rlm_toolkit.providers.base import Completion, CompletionOptions, Message


def _tree(mem: HierarchicalMemory) -> dict[int, list[int]]:
    out = {}
    for level in (Level.TRACE, Level.CATEGORY, Level.DOMAIN):
        for n in mem.store.nodes(level):
            out[n.id] = mem.get(n.id).children  # type: ignore[union-attr]
    return out


def test_single_episode_consolidates_into_all_levels(hmem: HierarchicalMemory) -> None:
    eid = hmem.add_episode("The user likes Python")
    report = hmem.consolidate()
    assert report.episodes == 1
    assert report.created == {"trace": 1, "category": 1, "domain": 1}
    ep = hmem.get(eid)
    assert ep is not None
    trace = hmem.get(ep.parent_id or -1)  # the episode points at its new trace...
    assert trace is not None and trace.level == Level.TRACE and trace.children == [eid]  # ...and back
    category = hmem.get(trace.parent_id)  # type: ignore[arg-type]
    assert category is not None and category.level == Level.CATEGORY
    assert category.children == [trace.id]
    domain = hmem.get(category.parent_id)  # type: ignore[arg-type]
    assert domain is not None and domain.level == Level.DOMAIN and domain.parent_id is None
    assert "Python" in trace.text and "Python" in domain.text


def test_related_episodes_share_a_trace(hmem: HierarchicalMemory) -> None:
    ids = [
        hmem.add_episode("Alice lives in Paris"),
        hmem.add_episode("Alice works at Acme as a nurse"),
        hmem.add_episode("Alice has a dog called Rex"),
        hmem.add_episode("The quarterly tax report is due in April"),
    ]
    hmem.consolidate()
    parents = [hmem.get(i).parent_id for i in ids]  # type: ignore[union-attr]
    assert parents[0] == parents[1] == parents[2] != parents[3]


def test_idempotent_and_incremental(hmem: HierarchicalMemory) -> None:
    for i in range(6):
        hmem.add_episode(f"Alice visited museum number {i} in Rome")
    hmem.consolidate()
    before = hmem.stats()
    again = hmem.consolidate()
    assert again.episodes == 0 and again.created == {} and hmem.stats() == before
    new = hmem.add_episode("Alice visited the Colosseum in Rome")
    report = hmem.consolidate()
    assert report.episodes == 1
    assert hmem.get(new).parent_id is not None  # type: ignore[union-attr]
    # joined the existing trace: no new trace, and that trace's summary was refreshed
    assert hmem.stats()["trace"] == before["trace"]
    assert report.updated >= 1


def test_every_node_points_at_existing_children(hmem: HierarchicalMemory) -> None:
    for i in range(30):
        hmem.add_episode(f"Project {i % 7} uses database engine {i % 3} for topic {i}")
    hmem.consolidate()
    tree = _tree(hmem)
    assert tree and all(children for children in tree.values())
    for parent, children in tree.items():
        for c in hmem.store.get_nodes(children):
            assert c.parent_id == parent and c.level == hmem.get(parent).level - 1  # type: ignore[union-attr]
    assert all(e.parent_id is not None for e in hmem.store.nodes(Level.EPISODE))


def test_many_categories_do_not_crash(hmem: HierarchicalMemory) -> None:
    words = ["apple", "boat", "cloud", "drum", "eagle", "fern", "glass", "harp", "igloo",
             "jade", "kite", "lemon", "maple", "nickel", "opal", "piano", "quartz", "robin"]
    for w in words:  # 18 topics that share no word: each its own category
        for j in range(3):
            hmem.add_episode(f"{w}x {w}y {w}z {w}{j}")
    report = hmem.consolidate()
    stats = hmem.stats()
    assert report.episodes == len(words) * 3
    assert stats["category"] >= 5 and stats["domain"] >= 1
    hits = hmem.retrieve("quartzx quartzy", include_summaries=True)
    assert any("quartz" in h.text for h in hits)
    assert {h.level for h in hits} == set(Level)


def test_extractive_summary_quotes_children(hmem: HierarchicalMemory) -> None:
    hmem.add_episode("Alice lives in Paris")
    hmem.add_episode("Alice works at Acme")
    hmem.consolidate()
    trace = hmem.store.nodes(Level.TRACE)[0]
    assert "Alice lives in Paris." in trace.text and "Alice works at Acme." in trace.text


def test_llm_callable_writes_summaries() -> None:
    prompts: list[str] = []

    def llm(prompt: str) -> str:
        prompts.append(prompt)
        return f"SUMMARY {len(prompts)}"

    mem = HierarchicalMemory()
    mem.add_episode("Alice lives in Paris")
    report = mem.consolidate(llm=llm)
    assert report.llm_calls == 3 and len(prompts) == 3
    assert "Alice lives in Paris" in prompts[0]
    texts = {n.level: n.text for lv in (1, 2, 3) for n in mem.store.nodes(Level(lv))}
    assert texts[Level.TRACE] == "SUMMARY 1"
    assert "SUMMARY 1" in prompts[1]  # the category is summarised from the trace summary
    assert texts[Level.DOMAIN] == "SUMMARY 3"
    hits = mem.retrieve("SUMMARY", include_summaries=True)
    assert {h.level for h in hits} >= {Level.TRACE, Level.CATEGORY, Level.DOMAIN}
    # the episode under the matching summaries is reached by routing, ranked below them
    assert hits[-1].level == Level.EPISODE


class FakeProvider:
    """A Provider: async complete(messages, options) -> Completion."""

    name = "fake/model"
    context_window = 1000

    def __init__(self) -> None:
        self.requests: list[list[Message]] = []

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        await asyncio.sleep(0)
        self.requests.append(messages)
        return Completion(text="Alice is based in Paris.")

    async def aclose(self) -> None:
        return None


def test_provider_writes_summaries_sync_and_inside_a_loop() -> None:
    provider = FakeProvider()
    mem = HierarchicalMemory(llm=provider)
    mem.add_episode("Alice lives in Paris")
    mem.consolidate()
    assert len(provider.requests) == 3
    assert "Alice lives in Paris" in provider.requests[0][-1]["content"]
    assert mem.store.nodes(Level.TRACE)[0].text == "Alice is based in Paris."

    async def inside_loop() -> int:
        mem.add_episode("Bob keeps bees in Lyon")
        return mem.consolidate().llm_calls

    assert asyncio.run(inside_loop()) == 3


def test_supersession_refreshes_the_trace_summary(hmem: HierarchicalMemory) -> None:
    hmem.add_episode("Alice lives in Paris", timestamp=1_000)
    hmem.add_episode("Alice works at Acme", timestamp=1_000)
    hmem.consolidate()
    hmem.add_episode("Alice lives in Berlin", timestamp=2_000)
    hmem.consolidate()
    traces = hmem.store.nodes(Level.TRACE)
    assert len(traces) == 1 and "Berlin" in traces[0].text and "Paris" not in traces[0].text


def test_an_rlm_writes_summaries_with_its_sub_model() -> None:
    from rlm_toolkit import RLM
    from rlm_toolkit.testing import ScriptedLLM

    root = ScriptedLLM([])
    sub = ScriptedLLM(["Trace: Alice is in Paris.", "Category: Alice.", "Domain: people."])
    rlm = RLM(root, sub, memory=HierarchicalMemory())
    rlm.memory.add_episode("Alice lives in Paris")
    report = rlm.memory.consolidate(llm=rlm)
    assert report.llm_calls == 3 and len(sub.requests) == 3 and not root.requests
    assert "Alice lives in Paris" in sub.requests[0][-1]["content"]
    assert rlm.memory.store.nodes(Level.TRACE)[0].text == "Trace: Alice is in Paris."


_DETERMINISM = """
import hashlib
from rlm_toolkit.memory import HierarchicalMemory, Level
mem = HierarchicalMemory(clock=lambda: 1_700_000_000.0)
topics = ["budget", "garden", "concert", "printer", "harbour", "recipe", "ticket", "museum"]
for i in range(80):
    mem.add_episode(f"Person {i % 9} talked about the {topics[i % 8]} and the {topics[i % 5]} "
                    f"near city {i % 4} on day {i}")
mem.consolidate()
h = hashlib.sha256()
for lv in Level:
    for n in mem.store.nodes(lv):
        h.update(f"{n.id}|{n.parent_id}|{n.text}|{n.keywords}".encode())
print(h.hexdigest())
"""


def test_consolidation_is_the_same_in_every_process() -> None:
    """Summaries and grouping never depend on hash order (which changes between processes)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).parents[2] / "src")
    digests = {
        subprocess.run(
            [sys.executable, "-c", _DETERMINISM], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONPATH": src, "PYTHONHASHSEED": seed}, timeout=60,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1


def test_the_hierarchy_narrows_despite_unique_tokens(hmem: HierarchicalMemory) -> None:
    """A token found in one episode only (a note number) says nothing about grouping: it must
    not keep every trace in a category, and every category in a domain, of its own."""
    rng = random.Random(3)
    names = ["Ann", "Ben", "Cleo", "Dev", "Eli", "Fay"]
    nouns = ["budget", "garden", "concert", "printer", "harbour", "recipe", "ticket", "museum",
             "laptop", "train"]
    adjs = ["late", "quiet", "broken", "sunny", "noisy", "cheap"]
    hmem.add_episodes(
        f"{rng.choice(names)} said the {rng.choice(nouns)} near the {rng.choice(nouns)} is "
        f"{rng.choice(adjs)} (note {i})" for i in range(300)
    )
    hmem.consolidate()
    stats = hmem.stats()
    assert stats["trace"] >= 10
    assert stats["category"] <= stats["trace"] / 4 and stats["domain"] < stats["category"]
