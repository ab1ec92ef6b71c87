"""ScriptedLLM: a deterministic provider for tests and examples."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ..providers.base import (
    Completion,
    CompletionOptions,
    Message,
    Usage,
    estimate_tokens,
    messages_tokens,
)

Reply = str | Exception
ReplyFn = Callable[[list[Message]], Reply]


class ScriptedLLM:
    """Replies from a list (in order) or from a callable given the messages.

    Every request is recorded in `requests` (a list of message lists). A reply that is an
    exception is raised instead. Usage is estimated from the text, so budgets work.
    """

    def __init__(
        self,
        responses: Sequence[Reply] | ReplyFn,
        *,
        name: str = "scripted/model",
        context_window: int | None = 128_000,
        latency_s: float = 0.0,
        cost_per_call: float | None = 0.0,
    ) -> None:
        self._script: list[Reply] | None = None if callable(responses) else list(responses)
        self._fn: ReplyFn | None = responses if callable(responses) else None
        self._name = name
        self._window = context_window
        self.latency_s = latency_s
        self.cost_per_call = cost_per_call
        self.requests: list[list[Message]] = []
        self.options: list[CompletionOptions] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_window(self) -> int | None:
        return self._window

    @property
    def calls(self) -> int:
        return len(self.requests)

    def _next(self, messages: list[Message]) -> Reply:
        if self._fn is not None:
            return self._fn(messages)
        assert self._script is not None
        if not self._script:
            raise AssertionError(
                f"ScriptedLLM ran out of replies after {len(self.requests)} calls; "
                "add more replies or use a callable"
            )
        return self._script.pop(0)

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        self.requests.append([dict(m) for m in messages])  # type: ignore[misc]
        self.options.append(options)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        reply = self._next(messages)
        if isinstance(reply, Exception):
            raise reply
        if options.on_token is not None:
            options.on_token(reply)
        usage = Usage(input_tokens=messages_tokens(messages), output_tokens=estimate_tokens(reply))
        return Completion(reply, usage, self._name, "stop", self.cost_per_call)

    async def aclose(self) -> None:
        return None

    def prompt_texts(self) -> list[str]:
        """Every request flattened to one string each, for asserting what reached the model."""
        return ["\n".join(m["content"] for m in req) for req in self.requests]


def any_text(requests: list[list[Message]]) -> str:
    """All request text joined, for 'did X ever reach the model' assertions."""
    return "\n".join(m["content"] for req in requests for m in req)


