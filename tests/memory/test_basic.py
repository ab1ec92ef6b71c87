"""The public API as documented: add, consolidate, retrieve, persistence, dedup, filters."""

from __future__ import annotations

from pathlib import Path

from rlm_toolkit.memory import HierarchicalMemory, Level, MemoryHit, RetrievalResult

from .conftest import Clock


def test_api_as_documented() -> None:
    hmem = HierarchicalMemory()
    hmem.add_episode("The user likes Python")
    hmem.add_episode("The project runs on FastAPI")
    hmem.consolidate()
    context = hmem.retrieve("Which web framework does the project run on?")
    assert isinstance(context, RetrievalResult)
    assert "The project runs on FastAPI" in str(context)
    entries = list(context)
    assert len(context) == len(entries) >= 1
    top = entries[0]
    assert isinstance(top, MemoryHit)
    assert top.text == "The project runs on FastAPI"
    assert top.level == Level.EPISODE and top.score > 0 and top.id > 0
    assert top.valid_to is None and top.created_at > 0
    assert "The user likes Python" not in str(context).split("\n")[1]


def test_empty_results_give_empty_block(hmem: HierarchicalMemory) -> None:
    assert str(hmem.retrieve("anything at all")) == ""
    hmem.add_episode("The user likes Python")
    result = hmem.retrieve("zebra migration patterns")
    assert len(result) == 0 and not result and str(result) == ""


def test_persists_across_reopen(tmp_path: Path) -> None:
    db = tmp_path / "mem.db"
    with HierarchicalMemory(path=db) as mem:
        first = mem.add_episode("Alice works at Acme", metadata={"source": "chat"})
        mem.consolidate()
    with HierarchicalMemory(path=db) as mem:
        hits = list(mem.retrieve("Where does Alice work?"))
        assert hits[0].id == first and hits[0].metadata == {"source": "chat"}
        assert mem.stats()["trace"] == 1
        assert mem.consolidate().episodes == 0  # already consolidated before the reopen


def test_wal_mode(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "mem.db"
    HierarchicalMemory(path=db).close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_identical_episodes_are_stored_once(hmem: HierarchicalMemory) -> None:
    a = hmem.add_episode("The user likes Python")
    b = hmem.add_episode("  the user likes python. ")
    assert a == b and len(hmem) == 1
    assert [e["event"] for e in hmem.history(a)] == ["add", "repeat"]
    other_user = hmem.add_episode("The user likes Python", user_id="bob")
    assert other_user != a and len(hmem) == 2


def test_user_scope(clock: Clock) -> None:
    mem = HierarchicalMemory(clock=clock)
    mem.add_episode("My favourite colour is green", user_id="ann")
    mem.add_episode("My favourite colour is blue", user_id="bob")
    ann = [h.text for h in mem.retrieve("favourite colour", user_id="ann")]
    assert ann == ["My favourite colour is green"]
    scoped = HierarchicalMemory(clock=clock, user_id="bob", store=mem.store)
    assert [h.text for h in scoped.retrieve("favourite colour")] == ["My favourite colour is blue"]
    assert len(mem.retrieve("favourite colour")) == 2  # no default scope: every user


def test_session_time_and_metadata_filters(hmem: HierarchicalMemory, clock: Clock) -> None:
    hmem.add_episode("Deploy the API on Friday", session_id="s1", metadata={"kind": "task"})
    clock.advance(10)
    t = clock.now
    hmem.add_episode("Deploy the docs site on Monday", session_id="s2", metadata={"kind": "note"})
    assert [h.session_id for h in hmem.retrieve("deploy", session_id="s2")] == ["s2"]
    assert [h.text for h in hmem.retrieve("deploy", since=t)] == ["Deploy the docs site on Monday"]
    assert [h.text for h in hmem.retrieve("deploy", until=t - 1)] == ["Deploy the API on Friday"]
    assert [h.metadata["kind"] for h in hmem.retrieve("deploy", metadata={"kind": "task"})] == ["task"]
    assert len(hmem.retrieve("deploy")) == 2


def test_stale_memories_rank_lower(clock: Clock) -> None:
    mem = HierarchicalMemory(clock=clock, half_life_days=30)
    old = mem.add_episode("The meeting room is booked for the review")
    clock.advance(400)
    new = mem.add_episode("The meeting room is booked for the demo")
    hits = list(mem.retrieve("meeting room booked"))
    assert [h.id for h in hits] == [new, old]
    assert hits[0].score > hits[1].score


def test_min_match_lets_a_caller_abstain(hmem: HierarchicalMemory) -> None:
    hmem.add_episode("Alice lives in Paris")
    hmem.add_episode("Bob works at Initech")
    assert len(hmem.retrieve("Where does Alice live?", min_match=0.6)) == 1
    assert len(hmem.retrieve("What is Alice's blood type?", min_match=0.6)) == 0


def test_time_words_in_a_question_do_not_force_abstention(hmem: HierarchicalMemory) -> None:
    hmem.add_episode("Alice lives in Paris", timestamp=1_600_000_000)
    hmem.add_episode("The review is on Monday")
    found = hmem.retrieve("Where did Alice live in March 2021?", min_match=0.75,
                          as_of=1_617_000_000)
    assert [h.text for h in found] == ["Alice lives in Paris"]
    assert [h.text for h in hmem.retrieve("What is on Monday?", min_match=0.9)] == [
        "The review is on Monday"
    ]
    assert len(hmem.retrieve("What was Alice's blood type in 2021?", min_match=0.6)) == 0


def test_prompt_block_is_bounded_and_marks_outdated(hmem: HierarchicalMemory) -> None:
    for i in range(40):
        hmem.add_episode(f"Note {i}: the build server uses cache volume number {i}")
    block = hmem.retrieve("build server cache volume", k=40).to_prompt(max_chars=300)
    assert 0 < len(block) <= 300 and block.startswith("Relevant memories")
    hmem.add_episode("Alice lives in Paris", timestamp=1_000_000)
    hmem.add_episode("Alice lives in Berlin", timestamp=2_000_000)
    text = str(hmem.retrieve("Where does Alice live?"))
    assert "outdated since" in text.split("Paris")[0].split("\n")[-1]


def test_search_alias_and_to_dict(hmem: HierarchicalMemory) -> None:
    hmem.add_episode("The project runs on FastAPI")
    result = hmem.search("FastAPI", 3)
    d = result.to_dict()
    assert d["hits"][0]["text"] == "The project runs on FastAPI" and d["hits"][0]["level"] == "episode"
