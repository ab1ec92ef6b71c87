"""The resilience layer on scripted providers: retries, Retry-After, breaker, concurrency,
rate limit, fallback. Sleeps are recorded, not taken, so nothing here depends on timing."""

from __future__ import annotations

import asyncio

import pytest

from rlm_toolkit.errors import ConfigError, ProviderError
from rlm_toolkit.providers import resolve
from rlm_toolkit.providers.base import CompletionOptions
from rlm_toolkit.providers.resilience import (
    CircuitBreaker,
    CircuitOpen,
    FallbackProvider,
    ResiliencePolicy,
    ResilientProvider,
    for_purpose,
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
    wrapped = ResilientProvider(flaky, policy(slept, base_delay_s=1.0, max_delay_s=3.0,
                                              max_retries=4))
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
    assert out.text == "from second" and list(chain.used) == ["b/two"]


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


# --- a breaker never stays shut -------------------------------------------------------------


def test_a_cancelled_half_open_trial_lets_the_next_call_try() -> None:
    now = [0.0]
    gate: list[asyncio.Event] = []

    class Hangs(ScriptedLLM):
        async def complete(self, messages, options):
            if gate:
                await gate[0].wait()  # the trial hangs until it is cancelled
            return await super().complete(messages, options)

    wrapped = ResilientProvider(Hangs([ProviderError("x", retryable=True)] * 2 + ["back"]),
                                policy([], max_retries=0, breaker_threshold=2,
                                       breaker_cooldown_s=10))
    wrapped.breaker._clock = lambda: now[0]
    for _ in range(2):
        with pytest.raises(ProviderError):
            complete(wrapped)
    now[0] = 11.0

    async def cancelled_trial() -> None:
        gate.append(asyncio.Event())
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):  # a run's timeout cancels the trial
                await wrapped.complete(MSG, CompletionOptions())
        gate.clear()

    asyncio.run(cancelled_trial())
    assert complete(wrapped).text == "back"
    assert wrapped.breaker.state == "closed"


def test_a_trial_that_raises_a_foreign_exception_lets_the_next_call_try() -> None:
    now = [0.0]
    wrapped = opened_breaker([RuntimeError("a bug in a custom provider"), "back"], now)
    now[0] = 11.0
    with pytest.raises(RuntimeError, match="custom provider"):
        complete(wrapped)
    assert complete(wrapped).text == "back"


def test_calls_during_a_trial_are_told_a_trial_is_in_flight() -> None:
    breaker = CircuitBreaker(1, 10, clock=lambda: 20.0)
    breaker.opened_at, breaker.failures = 5.0, 1
    assert breaker.check("p/m") is True
    with pytest.raises(CircuitOpen, match="trial call is in flight"):
        breaker.check("p/m")
    breaker.release()
    assert breaker.check("p/m") is True


# --- nothing per run accumulates ------------------------------------------------------------


def test_per_loop_state_does_not_grow_over_many_loops() -> None:
    wrapped = ResilientProvider(ScriptedLLM(lambda m: ProviderError("x", retryable=True)),
                                policy([], max_retries=1))
    for _ in range(50):
        with pytest.raises(ProviderError):
            complete(wrapped)  # a new event loop each time, never closed through aclose
    assert wrapped.loops_held <= 1
    assert len(wrapped.delays) <= 100


# --- defaults that do not hang ---------------------------------------------------------------


def test_default_policy_bounds_every_call() -> None:
    default = ResiliencePolicy()
    # a call with no deadline could hang a run forever: every default bounds it
    assert default.total_timeout_s is not None and default.timeout_s is not None, default
    assert default.first_token_timeout_s is not None, default
    assert default.max_retries + 1 <= 3
    with pytest.raises(ConfigError, match="total_timeout_s"):
        ResiliencePolicy(total_timeout_s=0)


def test_total_timeout_ends_a_call_across_attempts() -> None:
    class Never(ScriptedLLM):
        async def complete(self, messages, options):
            await asyncio.Event().wait()

    wrapped = ResilientProvider(Never(["x"]), ResiliencePolicy(
        timeout_s=None, total_timeout_s=0.05, max_retries=3))
    with pytest.raises(ProviderError, match=r"no answer within total_timeout_s=0\.05s") as info:
        complete(wrapped)
    assert info.value.retryable and info.value.status == 408
    assert wrapped.breaker.failures == 1


def test_a_stream_with_no_first_token_times_out_as_such() -> None:
    class Silent(ScriptedLLM):
        async def complete(self, messages, options):
            await asyncio.Event().wait()

    wrapped = ResilientProvider(Silent(["x"]), ResiliencePolicy(
        first_token_timeout_s=0.05, timeout_s=60, max_retries=0))
    with pytest.raises(ProviderError, match=r"no first token within 0\.05s"):
        complete(wrapped, CompletionOptions(on_token=lambda t: None))


def test_a_stream_that_started_is_held_to_the_attempt_timeout_only() -> None:
    class Slow(ScriptedLLM):
        async def complete(self, messages, options):
            options.on_token("first ")
            await asyncio.sleep(0.1)  # longer than the first-token limit, shorter than 60 s
            options.on_token("second")
            return await super().complete(messages, CompletionOptions())

    wrapped = ResilientProvider(Slow(["first second"]), ResiliencePolicy(
        first_token_timeout_s=0.02, timeout_s=60, max_retries=0))
    got: list[str] = []
    assert complete(wrapped, CompletionOptions(on_token=got.append)).text == "first second"
    assert "".join(got) == "first second"


def test_a_providers_own_timeout_error_is_named_without_a_limit() -> None:
    own = ScriptedLLM([TimeoutError("socket read"), "ok"])
    wrapped = ResilientProvider(own, policy([], timeout_s=None, total_timeout_s=None,
                                            max_retries=0))
    with pytest.raises(ProviderError, match="timed out: socket read"):
        complete(wrapped)


# --- a failing sub model does not open the root's breaker ------------------------------------


def test_purposes_have_their_own_breakers_over_one_provider() -> None:
    def reply(messages):
        if "sub" in messages[-1]["content"]:
            return ProviderError("sub prompt makes it fail", retryable=True, status=503)
        return "root ok"

    root = ResilientProvider(ScriptedLLM(reply), policy([], max_retries=0, breaker_threshold=2,
                                                        breaker_cooldown_s=1000))
    sub = for_purpose(root, "sub")
    assert isinstance(sub, ResilientProvider) and sub.purpose == "sub"
    sub_msg = [{"role": "user", "content": "sub"}]
    for _ in range(3):
        with pytest.raises(ProviderError):
            asyncio.run(sub.complete(sub_msg, CompletionOptions()))
    assert sub.breaker.state == "open"
    assert root.breaker.state == "closed"
    assert complete(root).text == "root ok"


def test_for_purpose_reaches_through_fallbacks_and_leaves_plain_providers() -> None:
    plain = ScriptedLLM(["x"])
    assert for_purpose(plain, "sub") is plain
    a = ResilientProvider(ScriptedLLM(["a"], name="a/x"))
    chain = FallbackProvider([a, plain])
    split = for_purpose(chain, "sub")
    assert isinstance(split, FallbackProvider)
    assert split.providers[0].breaker is not a.breaker and split.providers[1] is plain


def test_a_longer_timeout_asked_of_the_provider_lengthens_the_default_policy() -> None:
    slow = resolve("vllm/m", base_url="http://127.0.0.1:8000/v1", timeout_s=900)
    assert isinstance(slow, ResilientProvider)
    assert slow.policy.timeout_s == 900 and slow.policy.total_timeout_s == 900 * 3
    assert slow.inner.timeout_s == 900
    quick = resolve("vllm/m", base_url="http://127.0.0.1:8000/v1", timeout_s=5)
    assert quick.policy.timeout_s == ResiliencePolicy().timeout_s  # shorter: the SDK's limit
    own = resolve("vllm/m", timeout_s=900, resilience=ResiliencePolicy(timeout_s=30))
    assert own.policy.timeout_s == 30  # a policy given explicitly is kept as it is
