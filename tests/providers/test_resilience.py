"""The resilience layer on scripted providers: retries, Retry-After, breaker, concurrency,
rate limit, fallback. Sleeps are recorded, not taken, so nothing here depends on timing."""

from __future__ import annotations

import asyncio

import pytest

from rlm_toolkit.errors import ConfigError, ProviderError
from rlm_toolkit.providers import resolve
from rlm_toolkit.providers.base import CompletionOptions
from rlm_toolkit.providers.resilience import (
    CircuitOpen,
    FallbackProvider,
    ResiliencePolicy,
    ResilientProvider,
)
from rlm_toolkit.testing import ScriptedLLM

MSG = [{"role": "user", "content": "hi"}]


def policy(slept: list[float], **kw) -> ResiliencePolicy:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return ResiliencePolicy(sleep=sleep, seed=1, **kw)


def complete(provider, options: CompletionOptions | None = None):
    return asyncio.run(provider.complete(MSG, options or CompletionOptions()))


def test_retries_transient_errors_with_capped_full_jitter() -> None:
    slept: list[float] = []
    flaky = ScriptedLLM([ProviderError("503", retryable=True, status=503)] * 3 + ["ok"])
    wrapped = ResilientProvider(flaky, policy(slept, base_delay_s=1.0, max_delay_s=3.0))
    assert complete(wrapped).text == "ok"
    assert flaky.calls == 4 and wrapped.retries == 3
    assert len(slept) == 3
    for n, delay in enumerate(slept):
        assert 0 <= delay <= min(3.0, 1.0 * 2**n)


def test_retry_after_is_a_floor_on_the_wait() -> None:
    slept: list[float] = []
    limited = ScriptedLLM([ProviderError("429", retryable=True, status=429, retry_after=12.5),
                           "ok"])
    wrapped = ResilientProvider(limited, policy(slept, base_delay_s=0.01))
    assert complete(wrapped).text == "ok"
    assert slept == [12.5]


def test_retry_after_beyond_the_limit_gives_up_at_once() -> None:
    slept: list[float] = []
    limited = ScriptedLLM([ProviderError("429", retryable=True, status=429, retry_after=3600),
                           "never"])
    wrapped = ResilientProvider(limited, policy(slept, max_retry_after_s=60))
    with pytest.raises(ProviderError):
        complete(wrapped)
    assert slept == [] and limited.calls == 1


def test_permanent_errors_are_not_retried() -> None:
    slept: list[float] = []
    bad = ScriptedLLM([ProviderError("400 bad request", status=400), "never"])
    with pytest.raises(ProviderError, match="400"):
        complete(ResilientProvider(bad, policy(slept)))
    assert bad.calls == 1 and slept == []


def test_circuit_opens_after_failed_calls_and_fails_fast() -> None:
    slept: list[float] = []
    down = ScriptedLLM(lambda m: ProviderError("down", retryable=True, status=503))
    wrapped = ResilientProvider(down, policy(slept, max_retries=1, breaker_threshold=2,
                                             breaker_cooldown_s=1000))
    for _ in range(2):
        with pytest.raises(ProviderError, match="gave up after 2 attempts"):
            complete(wrapped)
    calls = down.calls
    with pytest.raises(CircuitOpen, match="circuit open"):
        complete(wrapped)
    assert down.calls == calls  # refused without calling the provider
    assert wrapped.breaker.state == "open"


def opened_breaker(after: list, now: list[float]) -> ResilientProvider:
    """A provider whose circuit two failures have opened; `after` are the next replies."""
    replies: list = [ProviderError("x", retryable=True)] * 2 + after
    wrapped = ResilientProvider(ScriptedLLM(replies),
                                policy([], max_retries=0, breaker_threshold=2,
                                       breaker_cooldown_s=10))
    wrapped.breaker._clock = lambda: now[0]
    for _ in range(2):
        with pytest.raises(ProviderError):
            complete(wrapped)
    return wrapped


def test_circuit_half_opens_after_cooldown_and_closes_on_success() -> None:
    now = [0.0]
    wrapped = opened_breaker(["back"], now)
    with pytest.raises(CircuitOpen):
        complete(wrapped)
    now[0] = 11.0
    assert wrapped.breaker.state == "half-open"
    assert complete(wrapped).text == "back"
    assert wrapped.breaker.state == "closed"


def test_a_half_open_trial_refused_as_a_bad_request_closes_the_circuit() -> None:
    now = [0.0]
    wrapped = opened_breaker([ProviderError("400 bad request", status=400), "next one"], now)
    now[0] = 11.0
    with pytest.raises(ProviderError, match="400"):
        complete(wrapped)  # the trial: the server answered, so it is up
    assert wrapped.breaker.state == "closed"
    assert complete(wrapped).text == "next one"


def test_timeout_per_attempt_is_retried() -> None:
    slow_then_fast = iter([5.0, 0.0])

    class Slow(ScriptedLLM):
        async def complete(self, messages, options):
            await asyncio.sleep(next(slow_then_fast))
            return await super().complete(messages, options)

    provider = Slow(["ok"])  # the first attempt is cut off before it takes a reply
    wrapped = ResilientProvider(provider, ResiliencePolicy(timeout_s=0.05, base_delay_s=0.001))
    assert complete(wrapped).text == "ok"
    assert wrapped.attempts == 2 and wrapped.retries == 1


def test_concurrency_is_bounded_per_provider() -> None:
    in_flight = 0
    peak = 0

    class Counting(ScriptedLLM):
        async def complete(self, messages, options):
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return await super().complete(messages, options)

    wrapped = ResilientProvider(Counting(lambda m: "ok"), ResiliencePolicy(max_concurrency=3))

    async def many():
        return await asyncio.gather(*(wrapped.complete(MSG, CompletionOptions())
                                      for _ in range(12)))

    assert len(asyncio.run(many())) == 12
    assert peak == 3


def test_rate_limit_is_off_by_default_and_never_on_loopback() -> None:
    assert ResilientProvider(ScriptedLLM(["x"])).rate_limiter is None
    local = resolve("vllm/m", base_url="http://127.0.0.1:8000/v1",
                    resilience=ResiliencePolicy(rate_limit_rpm=60))
    assert local.rate_limiter is None
    remote = resolve("vllm/m", base_url="http://gpu-box.lan:8000/v1",
                     resilience=ResiliencePolicy(rate_limit_rpm=60))
    assert getattr(remote.rate_limiter, "interval", None) == 1.0  # 60 a minute: 1 s apart


def test_rate_limit_spaces_requests() -> None:
    slept: list[float] = []
    scripted = ScriptedLLM(lambda m: "ok")
    scripted.base_url = "https://api.example.com/v1"  # type: ignore[attr-defined]
    wrapped = ResilientProvider(scripted, policy(slept, rate_limit_rpm=60))

    async def three():
        for _ in range(3):
            await wrapped.complete(MSG, CompletionOptions())

    asyncio.run(three())
    # The fake sleep returns at once, so each wait is measured from the same instant: the second
    # request starts one interval (1 s) later, the third two intervals later.
    assert len(slept) == 2
    assert 0.9 < slept[0] <= 1.0 and 1.9 < slept[1] <= 2.0


def test_state_is_per_instance() -> None:
    a = ResilientProvider(ScriptedLLM([ProviderError("x", retryable=True), "ok"]),
                          policy([], max_retries=1))
    b = ResilientProvider(ScriptedLLM(["ok"]), policy([], max_retries=1))
    complete(a)
    complete(b)
    assert (a.attempts, b.attempts) == (2, 1)
    assert a.breaker is not b.breaker


def test_fallback_tries_each_in_order() -> None:
    first = ScriptedLLM([ProviderError("first is down", retryable=True, status=503)],
                        name="a/one")
    second = ScriptedLLM(["from second"], name="b/two")
    chain = FallbackProvider([first, second])
    out = complete(chain)
    assert out.text == "from second" and chain.used == ["b/two"]


def test_fallback_reports_every_cause_when_all_fail() -> None:
    chain = resolve([ScriptedLLM([ProviderError("boom one")], name="a/x"),
                     ScriptedLLM([ProviderError("boom two")], name="b/y")])
    with pytest.raises(ProviderError) as info:
        complete(chain)
    assert "a/x: boom one" in str(info.value) and "b/y: boom two" in str(info.value)


def test_resolve_wraps_strings_not_objects_and_can_opt_out() -> None:
    assert isinstance(resolve("vllm/m"), ResilientProvider)
    assert not isinstance(resolve("vllm/m", resilience=False), ResilientProvider)
    scripted = ScriptedLLM(["x"])
    assert resolve(scripted) is scripted
    assert isinstance(resolve(scripted, resilience=ResiliencePolicy()), ResilientProvider)
    with pytest.raises(ConfigError):
        resolve("vllm/m", resilience="yes please")
    with pytest.raises(ConfigError):
        ResiliencePolicy(max_concurrency=0)


def test_streamed_tokens_are_not_repeated_on_retry() -> None:
    class CutOnce(ScriptedLLM):
        async def complete(self, messages, options):
            options.on_token("Hello, ")
            if self.calls == 0:
                self.requests.append(messages)
                raise ProviderError("cut", retryable=True)
            options.on_token("world")
            return await super().complete(messages, CompletionOptions())

    got: list[str] = []
    wrapped = ResilientProvider(CutOnce(["Hello, world"]), policy([]))
    assert complete(wrapped, CompletionOptions(on_token=got.append)).text == "Hello, world"
    assert "".join(got) == "Hello, world"
