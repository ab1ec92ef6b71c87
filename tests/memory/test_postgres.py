"""The PostgreSQL + pgvector store, against a real server started by the tests (pgserver)."""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver
    import psycopg  # noqa: F401
except ImportError:  # pragma: no cover - depends on the extras installed
    print("SKIP: PostgreSQL tests need the 'postgres' extra (psycopg, pgserver)")
    pytest.skip(
        "PostgreSQL tests need pip install 'rlm-toolkit[postgres]' (psycopg, pgserver)",
        allow_module_level=True,
    )

from rlm_toolkit.memory import HierarchicalMemory, Level, PostgresStore

_prefixes = itertools.count()


@pytest.fixture(scope="module")
def dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    start = time.perf_counter()
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    print(f"PostgreSQL started in {time.perf_counter() - start:.2f}s")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture
def store(dsn: str) -> Iterator[PostgresStore]:
    s = PostgresStore(dsn, prefix=f"t{next(_prefixes)}_")
    yield s
    s.drop()
    s.close()


def test_api_supersession_and_filters(store: PostgresStore) -> None:
    mem = HierarchicalMemory(store=store)
    mem.add_episode("The user likes Python", session_id="s1", metadata={"kind": "pref"})
    fast = mem.add_episode("The project runs on FastAPI", session_id="s2")
    assert mem.add_episode("the project runs on fastapi.", session_id="s2") == fast
    assert mem.retrieve("Which framework does the project run on?")[0].id == fast
    assert [h.session_id for h in mem.retrieve("python fastapi", session_id="s1")] == ["s1"]
    assert [h.text for h in mem.retrieve("python fastapi", metadata={"kind": "pref"})] == [
        "The user likes Python"
    ]
    paris = mem.add_episode("Alice lives in Paris", timestamp=1_000)
    berlin = mem.add_episode("Alice lives in Berlin", timestamp=2_000)
    assert mem.get(paris).superseded_by == berlin  # type: ignore[union-attr]
    assert mem.retrieve("Where does Alice live?", as_of=1_500).ids == [paris]
    assert mem.retrieve("Where does Alice live?")[0].id == berlin


def test_consolidate_and_forget(store: PostgresStore) -> None:
    mem = HierarchicalMemory(store=store)
    secret = mem.add_episode("Alice's bank PIN is 4921 zebracode")
    mem.add_episode("Alice's bank is Northbank")
    report = mem.consolidate()
    assert report.episodes == 2 and mem.consolidate().episodes == 0
    assert mem.stats()["domain"] >= 1
    assert mem.forget(secret) == 1
    for level in Level:
        assert all("zebracode" not in n.text for n in store.nodes(level))
    assert len(mem.retrieve("zebracode", include_summaries=True)) == 0
    assert [e["event"] for e in mem.history(secret)] == ["add", "forget"]


def test_a_failed_transaction_leaves_nothing(store: PostgresStore, dsn: str) -> None:
    mem = HierarchicalMemory(store=store)
    with pytest.raises(RuntimeError), store.transaction():
        mem.add_episode("Written then rolled back")
        raise RuntimeError("crash")
    assert len(mem) == 0
    mem.add_episode("Acknowledged and committed")
    other = PostgresStore(dsn, prefix=store._p)  # a second connection sees it
    assert other.count(Level.EPISODE) == 1
    other.close()


def test_dense_vectors_in_pgvector(store: PostgresStore) -> None:
    np = pytest.importorskip("numpy", reason="numpy (the 'embeddings' extra) is not installed")

    def embed(texts: list[str]) -> Any:
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, 0 if ("resides" in t or "home" in t) else 1 + len(t) % 7] = 1.0
        return out

    mem = HierarchicalMemory(store=store, embedder=embed)
    home = mem.add_episode("Alice resides in Lisbon")
    mem.add_episode("Alice likes jazz")
    assert mem.retrieve("home")[0].id == home  # no word in common: the vector found it
    mem.consolidate()
    assert not store.without_embedding(10)


def test_bad_dsn_is_a_clear_error(tmp_path: Path) -> None:
    from rlm_toolkit.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot connect"):
        PostgresStore(f"postgresql://nobody@/x?host={tmp_path}&connect_timeout=2")
    with pytest.raises(ConfigError, match="cannot connect") as info:
        PostgresStore(f"postgresql://nobody:hunter2@/x?host={tmp_path}&connect_timeout=2")
    assert "hunter2" not in str(info.value)  # the password never reaches logs
