"""An optional on-disk response cache (SQLite), so a rerun costs nothing.

`CachedProvider` wraps any provider; the key is a SHA-256 of the full request: provider
and model, the server it goes to (base_url), the messages and the options that change the
reply (temperature, max_tokens, stop, extra). A hit returns the stored completion with
`cached=True`, cost 0 and zero usage; the streaming callback still receives the text.
Replies cut off by the token limit (finish reason "length") are not stored. One SQLite
connection per call, opened in a worker thread, keeps it thread-safe and off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ._support import Wrapper
from .base import Completion, CompletionOptions, Message, Provider, Usage

SCHEMA = """CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, provider TEXT NOT NULL, created REAL NOT NULL, completion TEXT NOT NULL
)"""


def request_key(provider: str, messages: list[Message], options: CompletionOptions,
                base_url: str | None = None) -> str:
    """A stable hash of everything that decides the reply."""
    payload = {
        "provider": provider,
        "base_url": base_url,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "temperature": options.temperature,
        "max_tokens": options.max_tokens,
        "stop": options.stop,
        "extra": options.extra,
    }
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


class ResponseCache:
    """A SQLite table of completions keyed by request hash."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get(self, key: str) -> Completion | None:
        with self._connect() as db:
            row = db.execute("SELECT completion FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data: dict[str, Any] = json.loads(row[0])
        usage = Usage(**data.pop("usage"))
        return Completion(**{**data, "usage": usage})

    def put(self, key: str, provider: str, completion: Completion) -> None:
        data = asdict(completion)
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO responses (key, provider, created, completion) "
                "VALUES (?, ?, ?, ?)",
                (key, provider, time.time(), json.dumps(data)),
            )

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


class CachedProvider(Wrapper):
    """A provider that answers repeated requests from a `ResponseCache`."""

    def __init__(self, inner: Provider, cache: ResponseCache | str | Path) -> None:
        super().__init__(inner)
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.hits = 0
        self.misses = 0

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        key = request_key(self.name, messages, options, self.base_url)
        hit = await asyncio.to_thread(self.cache.get, key)
        if hit is not None:
            self.hits += 1
            if options.on_token is not None and hit.text:
                options.on_token(hit.text)
            hit.cached = True
            hit.cost = 0.0
            hit.usage = Usage()  # nothing was spent on this call
            return hit
        self.misses += 1
        result = await self.inner.complete(messages, options)
        if result.finish_reason not in ("length",):
            await asyncio.to_thread(self.cache.put, key, self.name, result)
        return result

