"""Resilience around any provider: timeouts, retries, a circuit breaker, bounded concurrency,
an optional rate limit, and fallback chains.

`resolve` wraps every provider it builds in `ResilientProvider` (opt out with
`resilience=False`) and turns a list of specs into a `FallbackProvider`. All state lives on
the wrapper instance: two runs with two wrappers never share counters or locks.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, ProviderError
from ._support import Wrapper
from .base import Completion, CompletionOptions, Message, Provider
from .pricing import is_loopback

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ResiliencePolicy:
    """How a provider is protected. Defaults suit remote APIs; tests shrink the delays.

    - `timeout_s`: wall-clock limit of one attempt (None: the SDK's own timeout only).
    - `max_retries`: further attempts after a retryable failure (429, 5xx, 408, resets,
      timeouts, malformed replies); waits `base_delay_s * 2**n` with full jitter, capped at
      `max_delay_s`, and at least the server's Retry-After (up to `max_retry_after_s`).
    - `breaker_threshold` consecutive failed calls (retries exhausted on a transient fault)
      open the circuit for `breaker_cooldown_s`: calls then fail at once; after the
      cooldown one trial call is let through (half-open).
    - `max_concurrency`: calls in flight at once through this provider.
    - `rate_limit_rpm`: requests a minute, off by default and never applied to loopback.
    """

    timeout_s: float | None = 600.0
    max_retries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 30.0
    max_concurrency: int = 64
    rate_limit_rpm: float | None = None
    sleep: Sleep = field(default=asyncio.sleep, compare=False, repr=False)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_concurrency < 1 or self.breaker_threshold < 1:
            raise ConfigError(
                "ResiliencePolicy: max_retries must be >= 0, max_concurrency and "
                "breaker_threshold >= 1"
            )
        if self.rate_limit_rpm is not None and self.rate_limit_rpm <= 0:
            raise ConfigError("ResiliencePolicy.rate_limit_rpm must be positive or None")

    @classmethod
    def from_value(cls, value: ResiliencePolicy | dict[str, Any] | bool | None) -> ResiliencePolicy | None:
        """A policy from `resolve`'s `resilience=` argument; None means 'do not wrap'."""
        if value is False:
            return None
        if value is None or value is True:
            return cls()
        if isinstance(value, dict):
            return cls(**value)
        if isinstance(value, cls):
            return value
        raise ConfigError(
            f"resilience must be a ResiliencePolicy, a dict of its fields, True or False; "
            f"got {type(value).__name__}"
        )


class CircuitOpen(ProviderError):
    """The provider failed too often recently; calls are refused until the cooldown ends."""


class CircuitBreaker:
    """Closed -> open after N consecutive failures -> half-open after the cooldown."""

    def __init__(self, threshold: int, cooldown_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.failures = 0
        self.opened_at: float | None = None
        self._clock = clock
        self._trial = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self.opened_at >= self.cooldown_s else "open"

    def check(self, name: str) -> None:
        """Raise CircuitOpen unless a call may go through now."""
        state = self.state
        if state == "closed":
            return
        if state == "half-open" and not self._trial:
            self._trial = True
            return
        assert self.opened_at is not None
        wait = max(0.0, self.cooldown_s - (self._clock() - self.opened_at))
        raise CircuitOpen(
            f"{name}: circuit open after {self.failures} consecutive failures; "
            f"not calling it for another {wait:.1f}s",
            retryable=False,
        )

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial = False

    def failure(self) -> None:
        self.failures += 1
        self._trial = False
        if self.failures >= self.threshold:
            self.opened_at = self._clock()


class RateLimiter:
    """Spaces request starts evenly to at most `rpm` a minute."""

    def __init__(self, rpm: float, sleep: Sleep) -> None:
        self.interval = 60.0 / rpm
        self._next = 0.0
        self._sleep = sleep
        self.waited_s = 0.0

    async def acquire(self) -> None:
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            self.waited_s += start - now
            await self._sleep(start - now)


class ResilientProvider(Wrapper):
    """Wraps a provider with the protections of a `ResiliencePolicy`."""

    def __init__(self, inner: Provider, policy: ResiliencePolicy | None = None) -> None:
        super().__init__(inner)
        self.policy = policy or ResiliencePolicy()
        self.breaker = CircuitBreaker(self.policy.breaker_threshold, self.policy.breaker_cooldown_s)
        loopback = is_loopback(getattr(inner, "base_url", None))
        self.rate_limiter = (
            RateLimiter(self.policy.rate_limit_rpm, self.policy.sleep)
            if self.policy.rate_limit_rpm and not loopback else None
        )
        self._random = random.Random(self.policy.seed)
        self._semaphores: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = {}
        self.attempts = 0
        self.retries = 0
        self.delays: list[float] = []

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        entry = self._semaphores.get(id(loop))
        if entry is None or entry[0] is not loop:
            entry = (loop, asyncio.Semaphore(self.policy.max_concurrency))
            self._semaphores[id(loop)] = entry
        return entry[1]

    def backoff(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `retry` (0-based): full jitter, Retry-After floor."""
        cap = min(self.policy.max_delay_s, self.policy.base_delay_s * (2 ** retry))
        delay = self._random.uniform(0.0, cap)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        policy = self.policy
        replay = _Replay(options)
        self.breaker.check(self.name)
        last: ProviderError | None = None
        for attempt in range(policy.max_retries + 1):
            async with self._semaphore():
                if self.rate_limiter is not None:
                    await self.rate_limiter.acquire()
                self.attempts += 1
                try:
                    result = await self._attempt(messages, replay.options())
                except ProviderError as exc:
                    last = exc
                else:
                    self.breaker.success()
                    return result
            assert last is not None
            if not last.retryable or attempt == policy.max_retries:
                break
            if last.retry_after is not None and last.retry_after > policy.max_retry_after_s:
                break
            delay = self.backoff(attempt, last.retry_after)
            self.retries += 1
            self.delays.append(delay)
            await policy.sleep(delay)
        assert last is not None
        if last.retryable:
            self.breaker.failure()  # the provider, not the request, is at fault
        else:
            self.breaker.success()  # it answered (400, 401, ...): it is up, the request is wrong
        if attempt > 0 and last.retryable:
            last.args = (f"{last.args[0]} (gave up after {attempt + 1} attempts)",)
        raise last

    async def _attempt(self, messages: list[Message], options: CompletionOptions) -> Completion:
        timeout = self.policy.timeout_s
        if options.timeout_s is not None:
            timeout = options.timeout_s if timeout is None else min(timeout, options.timeout_s)
        try:
            if timeout is None:
                return await self.inner.complete(messages, options)
            return await asyncio.wait_for(self.inner.complete(messages, options), timeout)
        except TimeoutError as exc:
            raise ProviderError(f"{self.name} timed out after {timeout:g}s", retryable=True,
                                status=408) from exc



class _Replay:
    """Keeps streamed tokens from repeating when a cut stream is retried.

    Text already forwarded to `on_token` is swallowed from the retry's stream (it restarts
    from the beginning); only new text reaches the caller.
    """

    def __init__(self, options: CompletionOptions) -> None:
        self.base = options
        self.sent = 0

    def options(self) -> CompletionOptions:
        user = self.base.on_token
        if user is None:
            return self.base
        seen = 0

        def forward(piece: str) -> None:
            nonlocal seen
            start, seen = seen, seen + len(piece)
            if seen <= self.sent:
                return
            new = piece[max(0, self.sent - start):]
            self.sent = seen
            user(new)

        return CompletionOptions(
            temperature=self.base.temperature, max_tokens=self.base.max_tokens,
            stop=self.base.stop, timeout_s=self.base.timeout_s, on_token=forward,
            extra=self.base.extra,
        )


class FallbackProvider:
    """Tries each provider in order; the first success wins.

    A provider that fails (after its own retries) hands over to the next; when all fail, the
    error names each provider's cause. `used` lists which provider answered each call.
    """

    def __init__(self, providers: list[Provider]) -> None:
        if not providers:
            raise ConfigError("a fallback chain needs at least one provider")
        self.providers = providers
        self.used: list[str] = []

    @property
    def name(self) -> str:
        return self.providers[0].name

    @property
    def context_window(self) -> int | None:
        windows = [p.context_window for p in self.providers if p.context_window]
        return min(windows) if windows else None

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        errors: list[str] = []
        last: ProviderError | None = None
        for provider in self.providers:
            try:
                result = await provider.complete(messages, options)
            except ProviderError as exc:
                last = exc
                errors.append(f"{provider.name}: {exc}")
                continue
            self.used.append(provider.name)
            return result
        assert last is not None
        raise type(last)(
            "every provider in the fallback chain failed: " + " | ".join(errors),
            retryable=last.retryable, status=last.status, retry_after=last.retry_after,
        )

    async def aclose(self) -> None:
        for provider in self.providers:
            await provider.aclose()
