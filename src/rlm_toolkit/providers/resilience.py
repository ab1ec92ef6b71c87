"""Resilience around any provider: timeouts, retries, a circuit breaker, bounded concurrency,
an optional rate limit, and fallback chains.

`resolve` wraps every provider it builds in `ResilientProvider` (opt out with
`resilience=False`) and turns a list of specs into a `FallbackProvider`. All state lives on
the wrapper instance: two runs with two wrappers never share counters or locks. The siblings
`for_purpose` makes (root and sub of one RLM) share only the concurrency bound and the rate
limit; each keeps its own breaker and counters. Per-event-loop state is dropped with the loop.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError, ProviderError
from ._support import LoopLocal, Wrapper
from .base import Completion, CompletionOptions, Message, Provider
from .cache import CachedProvider
from .pricing import is_loopback

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ResiliencePolicy:
    """How a provider is protected. Defaults suit remote APIs; tests shrink the delays.

    The defaults never hang on a server that accepts a request and never answers: a call
    gives up after at most `total_timeout_s` = 300 s (5 minutes), in at most 3 attempts.

    - `timeout_s` (120 s): wall-clock limit of one attempt (None: no per-attempt limit).
    - `first_token_timeout_s` (60 s): for a streamed call, the wait for its first token; once
      text flows, `timeout_s` applies. A non-streamed call shows no progress until it ends,
      so only `timeout_s` and `total_timeout_s` bound it.
    - `total_timeout_s` (300 s): the whole call, every attempt and the waits between them
      included (None: no overall limit).
    - `max_retries` (2): further attempts after a retryable failure (429, 5xx, 408, resets,
      timeouts, malformed or cut replies); waits `base_delay_s * 2**n` with full jitter,
      capped at `max_delay_s`, and at least the server's Retry-After (up to
      `max_retry_after_s`).
    - `breaker_threshold` consecutive failed calls (retries exhausted on a transient fault)
      open the circuit for `breaker_cooldown_s`: calls then fail at once; after the
      cooldown one trial call is let through (half-open). Each purpose (root, sub) of one
      provider has its own breaker: see `for_purpose`.
    - `max_concurrency`: calls in flight at once through this provider.
    - `rate_limit_rpm`: requests a minute, off by default and never applied to loopback.

    The providers themselves add a connect timeout of 10 s (`connect_timeout_s`), so a host
    that does not accept connections fails at once rather than after `timeout_s`.
    """

    timeout_s: float | None = 120.0
    first_token_timeout_s: float | None = 60.0
    total_timeout_s: float | None = 300.0
    max_retries: int = 2
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
        for name in ("timeout_s", "first_token_timeout_s", "total_timeout_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"ResiliencePolicy.{name} must be a positive number of "
                                  f"seconds or None (no limit); got {value!r}")

    def allowing(self, timeout_s: float) -> ResiliencePolicy:
        """This policy, with room for requests of `timeout_s` seconds: a per-attempt limit at
        least that long, and a total that still leaves every attempt its time."""
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) \
                or not timeout_s > 0:
            raise ConfigError(f"timeout_s must be a positive number of seconds; got {timeout_s!r}")
        attempt = self.timeout_s if self.timeout_s is None else max(self.timeout_s, timeout_s)
        total = self.total_timeout_s
        if total is not None and attempt is not None:
            total = max(total, attempt * (self.max_retries + 1))
        return replace(self, timeout_s=attempt, total_timeout_s=total)

    @classmethod
    def from_value(
        cls, value: ResiliencePolicy | dict[str, Any] | bool | None
    ) -> ResiliencePolicy | None:
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
    """Closed -> open after N consecutive failures -> half-open after the cooldown.

    In the half-open state one trial call goes through; `check` returns True to the caller
    that holds it, and that caller must end it with `success`, `failure` or `release` (a
    trial that ended without a verdict, e.g. cancelled), or the circuit would stay shut.
    """

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

    def check(self, name: str) -> bool:
        """Raise CircuitOpen unless a call may go through now; True when it is the trial."""
        state = self.state
        if state == "closed":
            return False
        if state == "half-open":
            if not self._trial:
                self._trial = True
                return True
            raise CircuitOpen(
                f"{name}: circuit half-open after {self.failures} consecutive failures; a "
                "trial call is in flight, retry when it has ended",
                retryable=False,
            )
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

    def release(self) -> None:
        """End a trial call that gave no verdict: the next call may try again."""
        self._trial = False


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


@dataclass
class _Shared:
    """What every purpose of one provider shares: the concurrency bound and the rate limit."""

    semaphores: LoopLocal[asyncio.Semaphore]
    rate_limiter: RateLimiter | None


#: How many recent backoff delays `ResilientProvider.delays` keeps.
KEEP_DELAYS = 100
#: How many recent answers `FallbackProvider.used` keeps.
KEEP_USED = 100


class ResilientProvider(Wrapper):
    """Wraps a provider with the protections of a `ResiliencePolicy`.

    `purpose` names what the calls are for ("root", "sub"); `for_purpose` gives a sibling
    with its own circuit breaker over the same provider, concurrency bound and rate limit, so
    a sub model failing persistently does not shut the root's calls out.
    """

    def __init__(self, inner: Provider, policy: ResiliencePolicy | None = None, *,
                 purpose: str = "default", _shared: _Shared | None = None) -> None:
        super().__init__(inner)
        self.policy = policy or ResiliencePolicy()
        self.purpose = purpose
        self.breaker = CircuitBreaker(self.policy.breaker_threshold, self.policy.breaker_cooldown_s)
        if _shared is None:
            loopback = is_loopback(getattr(inner, "base_url", None))
            rpm = self.policy.rate_limit_rpm
            max_concurrency = self.policy.max_concurrency
            _shared = _Shared(
                LoopLocal(lambda: asyncio.Semaphore(max_concurrency)),
                RateLimiter(rpm, self.policy.sleep) if rpm and not loopback else None,
            )
        self._shared = _shared
        self.rate_limiter = _shared.rate_limiter
        self._random = random.Random(self.policy.seed)
        self.attempts = 0
        self.retries = 0
        self.delays: deque[float] = deque(maxlen=KEEP_DELAYS)

    def for_purpose(self, purpose: str) -> ResilientProvider:
        """A sibling for `purpose`: its own breaker and counters, the same provider and limits."""
        return ResilientProvider(self.inner, self.policy, purpose=purpose, _shared=self._shared)

    @property
    def loops_held(self) -> int:
        """Event loops this provider keeps per-loop state for (live ones only, at most one
        closed loop until the next call)."""
        return len(self._shared.semaphores)

    def backoff(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `retry` (0-based): full jitter, Retry-After floor."""
        cap = min(self.policy.max_delay_s, self.policy.base_delay_s * (2 ** retry))
        delay = self._random.uniform(0.0, cap)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        trial = self.breaker.check(self.name)
        verdict = False
        try:
            result, failed = await self._calls(messages, options)
            verdict = True
        finally:
            if trial and not verdict:
                self.breaker.release()  # cancelled, or a fault outside ProviderError
        if failed is not None:
            raise failed
        assert result is not None
        return result

    async def _calls(
        self, messages: list[Message], options: CompletionOptions
    ) -> tuple[Completion | None, ProviderError | None]:
        """Attempts until one succeeds or the policy gives up; records the breaker's verdict."""
        total = self.policy.total_timeout_s
        attempts = [0]
        overall = asyncio.timeout(total)
        try:
            async with overall:
                result, last = await self._retries(messages, options, attempts)
        except TimeoutError as exc:
            if not overall.expired():
                raise
            last = ProviderError(
                f"{self.name} gave no answer within total_timeout_s={total:g}s "
                f"({attempts[0]} attempt(s)); check that the server is responding, or raise "
                "ResiliencePolicy(total_timeout_s=...)", retryable=True, status=408)
            last.__cause__ = exc
            result = None
        if result is not None:
            self.breaker.success()
            return result, None
        assert last is not None
        if last.retryable:
            self.breaker.failure()  # the provider, not the request, is at fault
        else:
            self.breaker.success()  # it answered (400, 401, ...): it is up, the request is wrong
        return None, last

    async def _retries(
        self, messages: list[Message], options: CompletionOptions, attempts: list[int]
    ) -> tuple[Completion | None, ProviderError | None]:
        policy = self.policy
        replay = _Replay(options)
        last: ProviderError | None = None
        for attempt in range(policy.max_retries + 1):
            async with self._shared.semaphores.get():
                if self.rate_limiter is not None:
                    await self.rate_limiter.acquire()
                self.attempts += 1
                attempts[0] += 1
                try:
                    return await self._attempt(messages, replay.options()), None
                except ProviderError as exc:
                    last = exc
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
        if attempts[0] > 1 and last.retryable:
            last.args = (f"{last.args[0]} (gave up after {attempts[0]} attempts)",)
        return None, last

    async def _attempt(self, messages: list[Message], options: CompletionOptions) -> Completion:
        timeout = self.policy.timeout_s
        if options.timeout_s is not None:
            timeout = options.timeout_s if timeout is None else min(timeout, options.timeout_s)
        first = self.policy.first_token_timeout_s if options.on_token is not None else None
        if first is not None and timeout is not None and first >= timeout:
            first = None
        loop = asyncio.get_running_loop()
        started = loop.time()
        seen = False
        deadline = asyncio.timeout(None)
        try:
            async with deadline:
                limit = first if first is not None else timeout
                deadline.reschedule(None if limit is None else started + limit)
                if first is not None:
                    user = options.on_token
                    assert user is not None

                    def on_token(piece: str) -> None:
                        nonlocal seen
                        if not seen:
                            seen = True
                            deadline.reschedule(None if timeout is None else started + timeout)
                        user(piece)

                    options = replace(options, on_token=on_token)
                return await self.inner.complete(messages, options)
        except TimeoutError as exc:
            if not deadline.expired():  # the provider's own timeout
                message = f"{self.name} timed out: {exc or type(exc).__name__}"
            elif first is not None and not seen:
                message = (f"{self.name} sent no first token within {first:g}s; raise "
                           "ResiliencePolicy(first_token_timeout_s=...) for a slow model")
            else:
                message = (f"{self.name} timed out after {timeout:g}s; raise "
                           "ResiliencePolicy(timeout_s=...) for a slow model")
            raise ProviderError(message, retryable=True, status=408) from exc

    async def aclose(self) -> None:
        """Drop this event loop's state, and close the wrapped provider's clients."""
        self._shared.semaphores.pop_current()
        await self.inner.aclose()


def for_purpose(provider: Provider, purpose: str) -> Provider:
    """`provider` for another purpose: wherever it holds a circuit breaker, a sibling with a
    breaker of its own, so a failing purpose (sub-calls) cannot open the other's (root)."""
    if isinstance(provider, ResilientProvider):
        return provider.for_purpose(purpose)
    if isinstance(provider, FallbackProvider):
        return FallbackProvider([for_purpose(p, purpose) for p in provider.providers])
    if isinstance(provider, CachedProvider):
        return CachedProvider(for_purpose(provider.inner, purpose), provider.cache)
    return provider


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

        return replace(self.base, on_token=forward)


class FallbackProvider:
    """Tries each provider in order; the first success wins.

    A provider that fails (after its own retries) hands over to the next; when all fail, the
    error names each provider's cause. `used` lists which provider answered each of the
    last `KEEP_USED` calls.
    """

    def __init__(self, providers: list[Provider]) -> None:
        if not providers:
            raise ConfigError("a fallback chain needs at least one provider")
        self.providers = providers
        self.used: deque[str] = deque(maxlen=KEEP_USED)

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
