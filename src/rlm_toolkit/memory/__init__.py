"""H-MEM: a hierarchical external memory (episode -> trace -> category -> domain).

    from rlm_toolkit.memory import HierarchicalMemory
    hmem = HierarchicalMemory()            # or HierarchicalMemory(path="mem.db")
    hmem.add_episode("The user likes Python")
    hmem.consolidate()
    print(hmem.retrieve("What language does the user like?"))
"""

from .consolidate import ConsolidationReport, ConsolidationSettings
from .embedders import CallableEmbedder, Embedder, WordLlamaEmbedder
from .facts import Fact, extract_fact
from .hmem import HierarchicalMemory
from .sqlite_store import SQLiteStore
from .store import MemoryStore
from .types import Filters, Level, MemoryHit, MemoryNode, RetrievalResult

__all__ = [
    "CallableEmbedder",
    "ConsolidationReport",
    "ConsolidationSettings",
    "Embedder",
    "Fact",
    "Filters",
    "HierarchicalMemory",
    "Level",
    "MemoryHit",
    "MemoryNode",
    "MemoryStore",
    "PostgresStore",
    "RetrievalResult",
    "SQLiteStore",
    "WordLlamaEmbedder",
    "extract_fact",
]


def __getattr__(name: str) -> object:
    if name == "PostgresStore":  # imported lazily: needs the 'postgres' extra
        from .postgres_store import PostgresStore

        return PostgresStore
    raise AttributeError(name)
