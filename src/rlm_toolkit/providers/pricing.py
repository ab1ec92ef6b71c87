"""Dated USD prices per million tokens, and the cost of a call.

Unknown models get cost None (reported as unknown), never an invented number. Models served
from the user's own machine (loopback base URLs, local runtimes) cost $0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from .base import Usage

PRICES_AS_OF = "2026-11-01"


@dataclass(frozen=True)
class Price:
    """USD per million tokens. `cached_input` defaults to `input` when the API has no discount;
    `cache_write` (Anthropic's cache creation) defaults to `input`."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None


# Public list prices (USD / 1M tokens), keyed by "provider/model".
PRICES: dict[str, Price] = {
    # OpenAI: the GPT-5.4/5.5 rates are for prompts under 270K tokens (longer ones cost more;
    # not modelled).
    "openai/gpt-5.5": Price(5.00, 30.00, 0.50),
    "openai/gpt-5.4": Price(2.50, 15.00, 0.25),
    "openai/gpt-5.4-mini": Price(0.75, 4.50, 0.075),
    "openai/gpt-5.4-nano": Price(0.20, 1.25, 0.02),
    "openai/gpt-4o": Price(2.50, 10.00, 1.25),
    "openai/gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "openai/gpt-4.1": Price(2.00, 8.00, 0.50),
    "openai/gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "openai/gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "openai/o3": Price(2.00, 8.00, 0.50),
    "openai/o4-mini": Price(1.10, 4.40, 0.275),
    "openai/gpt-5": Price(1.25, 10.00, 0.125),
    "openai/gpt-5-mini": Price(0.25, 2.00, 0.025),
    "openai/gpt-5-nano": Price(0.05, 0.40, 0.005),
    "openai/o3-mini": Price(1.10, 4.40, 0.55),
    "openai/o1": Price(15.00, 60.00, 7.50),
    # Anthropic: 5-minute cache writes at 1.25x input; cache reads at 0.1x input, except where
    # listed lower (Fable 5.1 0.025x, Opus 5.5 0.05x, Sonnet 5.5 0.05x since 2026-10-07).
    # Haiku 5.5 is left out: its price depends on each prompt's length (two bands).
    "anthropic/claude-fable-5-1": Price(10.00, 50.00, 0.25, 12.50),
    "anthropic/claude-fable-5": Price(10.00, 50.00, 1.00, 12.50),
    "anthropic/claude-mythos-5-1": Price(10.00, 50.00, 0.25, 12.50),
    "anthropic/claude-mythos-5": Price(10.00, 50.00, 1.00, 12.50),
    "anthropic/claude-opus-5-5": Price(4.00, 20.00, 0.20, 5.00),
    "anthropic/claude-opus-5": Price(5.00, 25.00, 0.50, 6.25),
    "anthropic/claude-opus-4-8": Price(5.00, 25.00, 0.50, 6.25),
    "anthropic/claude-opus-4-7": Price(5.00, 25.00, 0.50, 6.25),
    "anthropic/claude-opus-4-6": Price(5.00, 25.00, 0.50, 6.25),
    "anthropic/claude-sonnet-5-5": Price(2.00, 10.00, 0.10, 2.50),
    "anthropic/claude-sonnet-5": Price(2.00, 10.00, 0.20, 2.50),
    "anthropic/claude-sonnet-4-6": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic/claude-opus-4-5": Price(5.00, 25.00, 0.50, 6.25),
    "anthropic/claude-opus-4-1": Price(15.00, 75.00, 1.50, 18.75),
    "anthropic/claude-opus-4": Price(15.00, 75.00, 1.50, 18.75),
    "anthropic/claude-sonnet-4-5": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic/claude-sonnet-4": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic/claude-3-7-sonnet": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic/claude-haiku-4-5": Price(1.00, 5.00, 0.10, 1.25),
    "anthropic/claude-3-5-haiku": Price(0.80, 4.00, 0.08, 1.00),
    # Gemini: prompts up to 200k tokens (2.5 Pro costs more above that; not modelled).
    "gemini/gemini-2.5-pro": Price(1.25, 10.00),
    "gemini/gemini-2.5-flash": Price(0.30, 2.50),
    "gemini/gemini-2.5-flash-lite": Price(0.10, 0.40),
    "gemini/gemini-2.0-flash": Price(0.10, 0.40),
    "deepseek/deepseek-chat": Price(0.28, 0.42, 0.028),
    "deepseek/deepseek-reasoner": Price(0.28, 0.42, 0.028),
    "groq/llama-3.3-70b-versatile": Price(0.59, 0.79),
    "groq/llama-3.1-8b-instant": Price(0.05, 0.08),
    "xai/grok-4": Price(3.00, 15.00, 0.75),
    "xai/grok-3": Price(3.00, 15.00, 0.75),
    "xai/grok-3-mini": Price(0.30, 0.50, 0.075),
    "mistral/mistral-small-latest": Price(0.10, 0.30),
    "mistral/mistral-medium-latest": Price(0.40, 2.00),
    "together/meta-llama/Llama-3.3-70B-Instruct-Turbo": Price(0.88, 0.88),
    "fireworks/accounts/fireworks/models/llama-v3p3-70b-instruct": Price(0.90, 0.90),
    "cerebras/llama3.1-8b": Price(0.10, 0.10),
}

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def is_loopback(base_url: str | None) -> bool:
    """True when the URL points at this machine."""
    if not base_url:
        return False
    host = urlparse(base_url).hostname or ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


# What may follow a priced name and still be the same model: a dated snapshot
# ("-2024-08-06", "-20250929", "-0613"), "-latest", or a dated preview ("-preview-09-2025").
SNAPSHOT = re.compile(r"-(?:preview-)?(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{2}-\d{4}|\d{4}|latest)")


def lookup(name: str) -> Price | None:
    """The price of "provider/model", also for its dated snapshots ("gpt-4o-2024-08-06").

    Only snapshots of a priced model match: "claude-sonnet-4-7" is not priced as
    "claude-sonnet-4", since a newer model's price is not known until it is in the table.
    """
    if name in PRICES:
        return PRICES[name]
    for key in sorted(PRICES, key=len, reverse=True):
        if name.startswith(key) and SNAPSHOT.fullmatch(name[len(key):]):
            return PRICES[key]
    return None


def cost_of(usage: Usage, price: Price | None) -> float | None:
    """USD for `usage` at `price`; None when the price is unknown."""
    if price is None:
        return None
    cached = min(usage.cached_tokens, usage.input_tokens)
    written = min(usage.cache_write_tokens, usage.input_tokens - cached)
    plain = usage.input_tokens - cached - written
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    write_rate = price.cache_write if price.cache_write is not None else price.input
    return (
        plain * price.input
        + cached * cached_rate
        + written * write_rate
        + usage.output_tokens * price.output
    ) / 1_000_000
