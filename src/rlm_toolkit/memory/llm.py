"""Adapts the `llm=` argument of the memory to one sync function `prompt -> text`.

Accepted: a sync callable `str -> str`, a `Provider` (async `complete(messages, options)`), or
an `RLM`, whose sub-model (the one that reads slices) then writes the memory's summaries.
A provider is driven with `asyncio.run`, in a helper thread when the caller already runs an
event loop (so the memory's sync API works from async code too).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from ..errors import ConfigError
from ..providers.base import CompletionOptions, Message

TextFn = Callable[[str], str]

SYSTEM = (
    "You maintain a long-term memory. Answer with the requested text only, no preamble."
)


def _run(coro_fn: Callable[[], Coroutine[Any, Any, str]]) -> str:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_fn())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn())).result()


def as_text_fn(llm: Any, max_tokens: int = 300) -> TextFn | None:
    """A sync `prompt -> text` function for `llm`, or None when `llm` is None."""
    if llm is None:
        return None
    # An RLM: summaries are its sub model's job, through its egress gate (redaction, policy).
    sub = getattr(llm, "summary_model", None) or getattr(llm, "sub", None)
    if sub is not None and inspect.iscoroutinefunction(getattr(sub, "complete", None)):
        llm = sub
    complete = getattr(llm, "complete", None)
    if complete is not None and inspect.iscoroutinefunction(complete):
        def call(prompt: str) -> str:
            messages: list[Message] = [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": prompt},
            ]
            options = CompletionOptions(temperature=0.0, max_tokens=max_tokens)

            async def go() -> str:
                result = await complete(messages, options)
                return str(getattr(result, "text", result))

            return _run(go)

        return call
    if callable(llm):
        def call_fn(prompt: str) -> str:
            out = llm(prompt)
            if inspect.isawaitable(out):
                async def wait() -> str:
                    return str(await out)
                return _run(wait)
            return str(getattr(out, "text", out))

        return call_fn
    raise ConfigError(
        f"llm must be a callable str -> str, a Provider with async complete() or an RLM, "
        f"not {type(llm)!r}"
    )


def summary_prompt(level_name: str, texts: list[str], max_words: int) -> str:
    """The prompt asking for one summary of a group of memories."""
    items = "\n".join(f"- {' '.join(t.split())}" for t in texts)
    return (
        f"Write one {level_name} summary of these memories in at most {max_words} words. "
        "Keep names, places, numbers and dates; state only what the memories say; when two "
        "disagree, keep the later one.\n\nMemories:\n" + items + "\n\nSummary:"
    )


def contradiction_prompt(new: str, old: list[tuple[int, str]]) -> str:
    """The prompt asking which older memories a new statement makes outdated."""
    items = "\n".join(f"[{i}] {t}" for i, t in old)
    return (
        "A new statement was just added to a memory. Which of the older memories below does it "
        "make outdated (same subject and attribute, a different value now)? Answer with the "
        "numbers in brackets separated by commas, or NONE.\n\n"
        f"New: {new}\n\nOlder:\n{items}\n\nOutdated:"
    )
