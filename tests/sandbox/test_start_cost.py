"""A worker's start does no avoidable work: its modules come compiled, no heavy library
(OpenSSL behind hashlib) is loaded for a fingerprint the built-in sha1 computes, and no
`inspect` (behind dataclasses) for two small classes."""

from __future__ import annotations

import asyncio
import importlib.util
import struct
from pathlib import Path

import pytest

from rlm_toolkit.sandbox import Worker, WorkerOptions
from rlm_toolkit.sandbox.jail import all_tiers
from rlm_toolkit.sandbox.plan import WORKER_DIR


async def _nothing(method: str, args: dict[str, object]) -> object:
    return None


def _fresh(source: Path) -> bool:
    """Whether the bytecode Python would load for `source` exists and matches it."""
    cached = Path(importlib.util.cache_from_source(str(source)))
    if not cached.exists():
        return False
    head = cached.read_bytes()[:16]
    flags, mtime, size = struct.unpack("<III", head[4:16])
    stat = source.stat()
    return (head[:4] == importlib.util.MAGIC_NUMBER and flags == 0
            and mtime == int(stat.st_mtime) & 0xFFFFFFFF and size == stat.st_size & 0xFFFFFFFF)


def test_worker_modules_are_compiled_once_for_every_start() -> None:
    """The worker runs with -B (it never writes bytecode): the host caches it, as an install does."""
    modules = sorted(WORKER_DIR.glob("*.py"))
    for source in modules:
        Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)

    async def start() -> str:
        async with Worker("ctx", WorkerOptions(sandbox="unsafe-local")) as worker:
            return (await worker.execute("print(len(context))", _nothing)).stdout

    assert asyncio.run(start()).strip() == "3"
    assert [s.name for s in modules if not _fresh(s)] == []


@pytest.mark.parametrize("tier", ["unsafe-local", *[t.name for t in all_tiers() if t.available]])
def test_worker_start_loads_no_heavy_library(tier: str) -> None:
    code = ("import sys; print(sorted(m for m in ('_hashlib', 'hashlib', 'dataclasses', "
            "'inspect') if m in sys.modules))")

    async def modules() -> str:
        async with Worker("ctx", WorkerOptions(sandbox=tier)) as worker:
            return (await worker.execute(code, _nothing)).stdout

    assert asyncio.run(modules()).strip() == "[]"
