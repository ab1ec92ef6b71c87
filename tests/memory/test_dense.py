"""Dense retrieval: callable embedders, weighted fusion, routing, the wordllama embedder."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy", reason="numpy (the 'embeddings' extra) is not installed")

from rlm_toolkit.memory import CallableEmbedder, HierarchicalMemory, SQLiteStore  # noqa: E402
from rlm_toolkit.memory.text import words  # noqa: E402

CONCEPTS = {"live": "home", "lives": "home", "resides": "home", "reside": "home",
            "dwells": "home", "home": "home", "job": "work", "works": "work", "employed": "work",
            "employer": "work", "work": "work"}


def concept_embed(texts: list[str]) -> Any:
    """A toy model: synonyms share a direction; other words hash to their own."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for row, text in enumerate(texts):
        for w in words(text):
            key = CONCEPTS.get(w, w)
            h = int(hashlib.md5(key.encode()).hexdigest(), 16)
            out[row, h % 64] += 3.0 if key in ("home", "work") else 1.0
    return out


def test_fusion_finds_paraphrases_bm25_misses() -> None:
    texts = ["Alice dwells in Lisbon", "Alice likes jazz", "Alice plays chess", "Alice reads poetry"]
    plain = HierarchicalMemory()
    dense = HierarchicalMemory(embedder=concept_embed)
    for t in texts:
        plain.add_episode(t)
        dense.add_episode(t)
    query = "Where does Alice live?"
    assert dense.retrieve(query)[0].text == "Alice dwells in Lisbon"
    assert plain.retrieve(query)[0].text != "Alice dwells in Lisbon"  # a 4-way tie on 'alice'
    only_dense = list(dense.retrieve("home"))
    assert only_dense and only_dense[0].text == "Alice dwells in Lisbon"  # no word in common


def test_vectors_persist_and_follow_forget(tmp_path: Path) -> None:
    db = tmp_path / "mem.db"
    with HierarchicalMemory(path=db, embedder=CallableEmbedder(concept_embed, "toy")) as mem:
        keep = mem.add_episode("Bob works at Initech")
        gone = mem.add_episode("Bob dwells near the harbour")
        mem.consolidate()
    with HierarchicalMemory(path=db, embedder=CallableEmbedder(concept_embed, "toy")) as mem:
        assert mem.retrieve("home")[0].id == gone
        mem.forget(gone)
        assert gone not in mem.retrieve("home").ids
        assert mem.retrieve("employer")[0].id == keep
        assert not mem.store.without_embedding(10)  # rebuilt summaries were re-embedded


def test_changing_the_embedder_re_embeds(tmp_path: Path) -> None:
    db = tmp_path / "mem.db"
    with HierarchicalMemory(path=db, embedder=CallableEmbedder(concept_embed, "toy")) as mem:
        mem.add_episode("Carol resides in Porto")

    def small(texts: list[str]) -> Any:
        return concept_embed(texts)[:, :16] + 0.01

    with HierarchicalMemory(path=db, embedder=CallableEmbedder(small, "small")) as mem:
        assert mem.store.get_meta("embedder") == "small"
        assert len(mem.retrieve("Carol")) == 1  # 16-dim query against re-embedded 16-dim rows


def test_wrong_vector_count_is_a_clear_error() -> None:
    mem = HierarchicalMemory(embedder=lambda texts: np.zeros((1, 4)))
    with pytest.raises(ValueError, match="one vector per text"):
        mem.add_episodes(["a b", "c d"])


def test_routing_never_loses_flat_hits() -> None:
    """Routing only adds candidates: with no route bonus, every flat hit keeps its score, and
    one that drops out of the top k was outranked by a candidate only routing found."""
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(60)]
    texts = [" ".join(rng.choice(vocab, 6)) + f" item{i}" for i in range(200)]
    routed = HierarchicalMemory(embedder=concept_embed, route_weight=0.0)
    routed.add_episodes(texts)
    routed.consolidate()
    flat = HierarchicalMemory(embedder=concept_embed, store=routed.store, beam=0)
    for _ in range(20):
        query = " ".join(rng.choice(vocab, 3))
        a = {h.id: h.score for h in flat.retrieve(query, k=10)}
        b = {h.id: h.score for h in routed.retrieve(query, k=10)}
        for i in a.keys() & b.keys():
            assert a[i] == b[i]
        for i in a.keys() - b.keys():
            assert a[i] <= min(b.values())


def test_wordllama_embedder_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import wordllama  # noqa: F401
    except ImportError:
        print("SKIP: wordllama is not installed (pip install 'rlm-toolkit[embeddings]')")
        pytest.skip("wordllama is not installed: pip install 'rlm-toolkit[embeddings]'")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    import socket

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network access during the test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    mem = HierarchicalMemory(embedder="wordllama")
    mem.add_episode("Alice resides in Lisbon")
    mem.add_episode("The project deadline moved to March")
    mem.add_episode("Bob enjoys playing the violin")
    assert mem.retrieve("Where is Alice's home city?")[0].text == "Alice resides in Lisbon"
    assert mem.retrieve("musical instrument hobby")[0].text == "Bob enjoys playing the violin"


def test_ann_index_past_the_threshold_honours_forget_and_levels(tmp_path: Path) -> None:
    if importlib.util.find_spec("usearch") is None:
        print("SKIP: usearch is not installed (pip install 'rlm-toolkit[ann]')")
        pytest.skip("usearch is not installed: pip install 'rlm-toolkit[ann]'")
    rng = np.random.default_rng(1)
    base = rng.normal(size=(300, 32)).astype(np.float32)
    table = {f"doc {i}": base[i] for i in range(300)}

    def embed(texts: list[str]) -> Any:
        return np.stack([table.get(t, rng.normal(size=32).astype(np.float32)) for t in texts])

    mem = HierarchicalMemory(path=tmp_path / "m.db", embedder=embed, ann_threshold=100)
    ids = mem.add_episodes(f"doc {i}" for i in range(300))
    exact = HierarchicalMemory(embedder=embed, store=SQLiteStore(tmp_path / "m.db",
                                                                 ann_threshold=None))
    probe = [f"doc {i}" for i in range(0, 300, 7)]
    agree = sum(
        mem.retrieve(q, k=1, include_summaries=True).ids == exact.retrieve(q, k=1).ids
        for q in probe
    )
    index = mem.store._index()  # type: ignore[attr-defined]
    assert index is not None and index.uses_ann
    assert agree >= 0.9 * len(probe)  # approximate, but on 300 points practically exact
    assert mem.retrieve("doc 21", k=1).ids == [ids[21]]
    mem.forget(ids[21])
    assert ids[21] not in mem.retrieve("doc 21", k=20).ids
    mem.add_episode("doc 21")  # re-added: a new id, found through the ANN index again
    assert mem.retrieve("doc 21", k=1)[0].text == "doc 21"
    mem.consolidate()  # summaries are embedded too; an episode-level search never returns them
    hits = mem.retrieve("doc 5", k=10)
    assert all(h.level == 0 for h in hits) and index.uses_ann
