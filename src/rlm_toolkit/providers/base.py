"""The one provider protocol every LLM backend implements.

A provider takes chat messages and options and returns a `Completion`: text, token usage,
model, finish reason and cost. Providers know nothing of the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

Role = Literal["system", "user", "assistant"]


class Message(TypedDict):
    """One chat message."""

    role: Role
    content: str


@dataclass
class Usage:
    """Token counts of one call, or summed over many."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_tokens += other.cached_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cache_write_tokens += other.cache_write_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass
class CompletionOptions:
    """Per-call options. `on_token` streams text deltas when the provider supports it.

    `json_schema`: the reply must be JSON matching this schema; a provider with a
    structured-output mode (or a grammar) uses it, the others get it in the prompt only.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    timeout_s: float | None = None
    on_token: Callable[[str], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    json_schema: dict[str, Any] | None = None


@dataclass
class Completion:
    """What one call returned. `cost` is USD, or None when the price is unknown.

    `cached` is True when the reply came from the on-disk response cache (then `cost` is 0).
    """

    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str | None = None
    cost: float | None = None
    cached: bool = False


@runtime_checkable
class Provider(Protocol):
    """An async LLM backend. `name` is the canonical "provider/model" string."""

    @property
    def name(self) -> str: ...

    @property
    def context_window(self) -> int | None:
        """The model's window in tokens, when known."""
        ...

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion: ...

    async def aclose(self) -> None: ...


def estimate_tokens(text: str) -> int:
    """A fast, provider-free token estimate (about 4 characters a token)."""
    return (len(text) + 3) // 4


def messages_tokens(messages: list[Message]) -> int:
    """Estimated tokens of a whole prompt, with a small per-message overhead."""
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)
