"""Contradictions supersede, forget() really deletes, facts extraction rules."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rlm_toolkit.errors import ConfigError
from rlm_toolkit.memory import HierarchicalMemory, Level, extract_fact

from .conftest import Clock


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Alice lives in Paris", "Alice lives in Berlin"),
        ("Alice lives in Paris", "Alice moved to Berlin"),
        ("The user's favourite language is Python", "The user's favourite language is Rust"),
        ("My favourite language is Python", "The user's favorite language is Rust"),
        ("Bob works at Acme", "Bob works for Initech"),
        ("I live in Oslo", "I moved to Bergen"),
    ],
)
def test_contradiction_supersedes(hmem: HierarchicalMemory, clock: Clock, old: str, new: str) -> None:
    old_id = hmem.add_episode(old)
    clock.advance(1)
    new_id = hmem.add_episode(new)
    old_node, new_node = hmem.get(old_id), hmem.get(new_id)
    assert old_node is not None and new_node is not None
    assert old_node.superseded_by == new_id and old_node.valid_to == new_node.valid_from
    assert new_node.is_current and len(hmem) == 2  # history kept, not deleted
    hits = list(hmem.retrieve(f"{old} {new}"))
    assert hits[0].id == new_id and hits[1].id == old_id and not hits[1].is_current
    assert [h.id for h in hmem.retrieve(f"{old} {new}", include_superseded=False)] == [new_id]
    assert [e["event"] for e in hmem.history(old_id)] == ["add", "supersede"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("The user likes Python", "The user likes Rust"),
        ("Alice lives in Paris", "Bob lives in Berlin"),
        ("Alice lives in Paris", "Alice works at Acme"),
        ("Alice lives in Paris", "Alice lives in Paris now"),
        ("Alice lives in Paris", "Alice no longer lives in Paris"),
    ],
)
def test_no_false_contradiction(hmem: HierarchicalMemory, a: str, b: str) -> None:
    first = hmem.add_episode(a)
    hmem.add_episode(b)
    assert hmem.get(first).is_current  # type: ignore[union-attr]


def test_out_of_order_insert_is_history_already(hmem: HierarchicalMemory) -> None:
    newer = hmem.add_episode("Alice lives in Berlin", timestamp=2_000)
    older = hmem.add_episode("Alice lives in Paris", timestamp=1_000)
    assert hmem.get(newer).is_current  # type: ignore[union-attr]
    node = hmem.get(older)
    assert node is not None and node.superseded_by == newer and node.valid_to == 2_000


def test_moving_back_makes_a_new_current_episode(hmem: HierarchicalMemory) -> None:
    paris = hmem.add_episode("Alice lives in Paris", timestamp=1_000)
    berlin = hmem.add_episode("Alice lives in Berlin", timestamp=2_000)
    again = hmem.add_episode("Alice lives in Paris", timestamp=3_000)
    assert again not in (paris, berlin)
    assert hmem.get(berlin).superseded_by == again  # type: ignore[union-attr]
    assert [h.id for h in hmem.retrieve("Where does Alice live?", include_superseded=False)] == [again]


def test_as_of_answers_temporal_questions(hmem: HierarchicalMemory) -> None:
    hmem.add_episode("Alice lives in Paris", timestamp=1_000)
    hmem.add_episode("Alice lives in Berlin", timestamp=2_000)
    assert [h.text for h in hmem.retrieve("Where does Alice live?", as_of=1_500)] == [
        "Alice lives in Paris"
    ]
    assert [h.text for h in hmem.retrieve("Where does Alice live?", as_of=2_500)] == [
        "Alice lives in Berlin"
    ]


def test_llm_judges_contradictions_the_rule_misses(clock: Clock) -> None:
    asked: list[str] = []

    def judge(prompt: str) -> str:
        asked.append(prompt)
        if "vegan" in prompt.split("Older:")[0]:
            ids = [line.split("]")[0][1:] for line in prompt.splitlines() if "steak" in line]
            return ", ".join(ids) or "NONE"
        return "NONE"

    mem = HierarchicalMemory(llm=judge, judge_contradictions=True, clock=clock)
    steak = mem.add_episode("Carol eats steak every week")
    clock.advance(1)
    mem.add_episode("Carol went vegan and eats no meat at all, not even steak")
    assert asked and mem.get(steak).superseded_by is not None  # type: ignore[union-attr]


def test_extract_fact_rules() -> None:
    fact = extract_fact("The user's favourite language is Python")
    assert fact is not None and fact.key == "user|favourite language" and fact.value == "python"
    assert extract_fact("The user likes Python") is None
    assert extract_fact("Where does Alice live?") is None
    assert extract_fact("Alice is 34 years old") == extract_fact("Alice is 34 years old.")


def _raw_bytes(db: Path) -> bytes:
    out = b""
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(db) + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


def test_forget_really_deletes(tmp_path: Path) -> None:
    db = tmp_path / "mem.db"
    mem = HierarchicalMemory(path=db)
    secret = mem.add_episode("Alice's bank PIN is 4921 zebracode")
    keep = mem.add_episode("Alice's bank is Northbank")
    mem.add_episode("Alice likes hiking")
    mem.consolidate()
    trace = mem.get(mem.get(secret).parent_id)  # type: ignore[arg-type, union-attr]
    assert trace is not None and "zebracode" in trace.text
    assert mem.forget(secret) == 1
    assert mem.get(secret) is None
    assert all("zebracode" not in h.text for h in mem.retrieve("zebracode PIN", include_summaries=True))
    for level in Level:
        assert all("zebracode" not in n.text for n in mem.store.nodes(level))
    assert mem.get(keep) is not None
    assert [e["event"] for e in mem.history(secret)] == ["add", "forget"]
    mem.close()
    assert b"zebracode" not in _raw_bytes(db)
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM nodes_fts WHERE nodes_fts MATCH 'zebracode'").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM terms WHERE term = 'zebracode'").fetchone()[0] == 0


def test_forget_by_text_and_filters(hmem: HierarchicalMemory, clock: Clock) -> None:
    hmem.add_episode("Dave's phone number is 555-0101", session_id="s1")
    hmem.add_episode("Dave likes tea", session_id="s1")
    clock.advance(5)
    cutoff = clock.now
    hmem.add_episode("Dave likes coffee", session_id="s2", metadata={"tag": "drink"})
    assert hmem.forget("dave's phone number is 555-0101") == 1
    assert len(hmem.retrieve("phone number")) == 0
    assert hmem.forget(session_id="s1") == 1
    assert hmem.forget(before=cutoff) == 0
    assert hmem.forget(metadata={"tag": "drink"}) == 1
    assert len(hmem) == 0
    with pytest.raises(ConfigError):
        hmem.forget()


def test_forget_removes_emptied_summaries(hmem: HierarchicalMemory) -> None:
    only = hmem.add_episode("Eve collects rare stamps")
    hmem.consolidate()
    assert hmem.stats() == {"episode": 1, "trace": 1, "category": 1, "domain": 1}
    hmem.forget(only)
    assert hmem.stats() == {"episode": 0, "trace": 0, "category": 0, "domain": 0}
    assert hmem.consolidate().created == {}


def test_forgotten_then_readded_is_new(hmem: HierarchicalMemory) -> None:
    first = hmem.add_episode("Frank owns a red bike")
    hmem.forget(first)
    second = hmem.add_episode("Frank owns a red bike")
    assert second != first and len(hmem) == 1
