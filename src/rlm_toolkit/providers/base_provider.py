"""What every built-in provider shares, done once: its name, context window, API key, price
and timeouts. Model: simonw/llm's `_BaseModel` with its key mixin.

A subclass sets `provider` (the prefix of its "provider/model" name) and `key_env` (the
environment variables that may hold its key, in order), calls `super().__init__`, and asks
`get_key` for its key. Timeouts, unless a call or the resilience layer asks for less:

- `timeout_s` (120 s): the SDK's limit on one HTTP request (reading the whole reply);
- `connect_timeout_s` (10 s): opening the connection, so a host that does not accept
  connections fails in seconds rather than after `timeout_s`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import ClassVar, TypeVar

from ..errors import AuthenticationError, ConfigError
from .base import Usage
from .pricing import Price, cost_of, is_loopback, lookup

T = TypeVar("T")

#: The key variables of the native providers, tried in order (read by `rlm providers` too).
NATIVE_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}

#: The SDK's limit on one request, in seconds.
DEFAULT_TIMEOUT_S = 120.0
#: The limit on opening a connection, in seconds.
DEFAULT_CONNECT_TIMEOUT_S = 10.0


class BaseProvider:
    """Naming, window, key lookup, pricing and timeouts of a provider.

    `free=True` marks a self-hosted server (cost $0 wherever it runs), `free=False` one that
    bills (cost from the price table even on loopback); by default loopback URLs are free.
    """

    #: The prefix of `name` ("openai", "anthropic", ...).
    provider: str = ""
    #: Environment variables that may hold the API key, tried in order.
    key_env: ClassVar[tuple[str, ...]] = ()
    #: True when prompts sent here stay on this machine (the user's own server, marked with
    #: `resolve(..., local=True)`): `egress="local-only"` lets raw context go to it.
    local: bool = False

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        context_window: int | None = None,
        price: Price | None = None,
        free: bool | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        provider: str | None = None,
    ) -> None:
        for field, value in (("timeout_s", timeout_s), ("connect_timeout_s", connect_timeout_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{field} must be a positive number of seconds; got {value!r}")
        self.model = model
        if provider is not None:
            self.provider = provider  # a preset of the OpenAI wire names itself
        self.base_url = base_url
        self._context_window = context_window
        self.free = is_loopback(base_url) if free is None else free
        self.price = price if price is not None else lookup(self.name)
        self.timeout_s = float(timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)

    @property
    def name(self) -> str:
        """The canonical "provider/model" string."""
        return f"{self.provider}/{self.model}"

    @property
    def context_window(self) -> int | None:
        """The model's window in tokens, when known."""
        return self._context_window

    def get_key(self, explicit: str | None, *, env: tuple[str, ...] | None = None,
                required: bool = True) -> str | None:
        """`explicit`, else the first of the key variables that is set; raise
        AuthenticationError naming them when none is and a key is `required`."""
        names = self.key_env if env is None else env
        key = explicit or next((os.environ[n] for n in names if os.environ.get(n)), None)
        if key is None and required:
            where = " or ".join(names) if names else "the provider's key variable"
            raise AuthenticationError(
                f"No API key for {self.provider}: set {where} or pass api_key=..., "
                "or pass base_url=... to reach a local server that needs none"
            )
        return key

    def _cost(self, usage: Usage) -> float | None:
        """USD for `usage`: 0 for a free server, None when the price is unknown."""
        return 0.0 if self.free else cost_of(usage, self.price)

    def http_timeout(self, factory: Callable[..., T], seconds: float | None = None) -> T:
        """The SDK's timeout object (`factory` is its `Timeout` class, httpx's or its fork's)
        for one request: `seconds` (or `timeout_s`) in all, at most `connect_timeout_s` of it
        to connect."""
        total = self.timeout_s if seconds is None else seconds
        return factory(total, connect=min(total, self.connect_timeout_s))
