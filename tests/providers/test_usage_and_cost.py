"""Usage fields and cost from each wire: cached, cache-write and reasoning tokens, dated
prices, $0 on loopback, unknown cost for unpriced models, and Ollama's window."""

from __future__ import annotations

import asyncio

import ollama
import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.errors import ProviderError
from rlm_toolkit.providers import resolve
from rlm_toolkit.providers.base import Completion, CompletionOptions, Message
from rlm_toolkit.providers.pricing import PRICES, cost_of
from rlm_toolkit.testing.servers import AnthropicServer, GeminiServer, OllamaServer, OpenAIServer

from .test_rlm_runs import CONTEXT, QUERY, model_for
from .wires import WIRES

SYSTEM = "You are a careful analyst. " * 400  # about 2,700 tokens: a cacheable prefix


def ask(provider, messages: list[Message], **options) -> Completion:
    async def go() -> Completion:
        try:
            return await provider.complete(messages, CompletionOptions(**options))
        finally:
            await provider.aclose()

    return asyncio.run(go())


def turn(question: str) -> list[Message]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


def test_anthropic_caches_the_stable_prefix_and_prices_reads_and_writes() -> None:
    with AnthropicServer(lambda body: "fine") as srv:
        provider = resolve("anthropic/claude-sonnet-5-5", base_url=srv.base_url, api_key="k",
                           free=False, resilience=False)
        first = ask(provider, turn("first question"))
        second = ask(provider, [*turn("first question"), {"role": "assistant", "content": "fine"},
                                {"role": "user", "content": "and then?"}])
        body = srv.requests[0]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert first.usage.cache_write_tokens > 600 and first.usage.cached_tokens == 0
    assert second.usage.cached_tokens == first.usage.cache_write_tokens
    assert second.usage.input_tokens > second.usage.cached_tokens  # ours include cache reads
    price = PRICES["anthropic/claude-sonnet-5-5"]
    assert first.cost == pytest.approx(cost_of(first.usage, price))
    assert second.cost == pytest.approx(cost_of(second.usage, price))
    assert second.cost < first.cost  # cache reads at 0.1x, writes at 1.25x


def test_anthropic_without_prompt_caching_sends_no_marks() -> None:
    with AnthropicServer(lambda body: "fine") as srv:
        ask(resolve("anthropic/claude-test", base_url=srv.base_url, api_key="k",
                    prompt_caching=False, resilience=False), turn("q"))
    assert "cache_control" not in str(srv.requests[0])


def test_openai_reports_cached_prefix_and_reasoning_tokens_and_prices_them() -> None:
    with OpenAIServer(lambda body: "fine", reasoning_tokens=40) as srv:
        provider = resolve("openai/gpt-4o-mini", base_url=srv.base_url, api_key="k",
                           free=False, resilience=False)
        first = ask(provider, turn("one"))
        streamed: list[str] = []
        second = ask(provider, turn("two"), on_token=streamed.append)
    assert first.usage.cached_tokens == 0 and first.usage.reasoning_tokens == 40
    assert second.usage.cached_tokens >= 1024 and second.usage.reasoning_tokens == 40
    assert "".join(streamed) == "fine"  # streamed replies carry usage too
    price = PRICES["openai/gpt-4o-mini"]
    assert second.cost == pytest.approx(cost_of(second.usage, price))
    assert 0 < second.cost < first.cost


def test_gemini_reports_thoughts_as_reasoning_and_output_tokens() -> None:
    with GeminiServer(lambda body: "fine", thoughts_tokens=25) as srv:
        out = ask(resolve("gemini/gemini-2.5-flash", base_url=srv.base_url, api_key="k",
                          free=False, resilience=False), turn("q"))
    assert out.usage.reasoning_tokens == 25
    assert out.usage.output_tokens == 25 + 2  # thoughts plus the reply's own tokens
    assert out.cost == pytest.approx(cost_of(out.usage, PRICES["gemini/gemini-2.5-flash"]))


def test_run_cost_is_priced_known_unknown_or_free() -> None:
    wire = WIRES[0]

    def run(model: str, **kw):
        with OpenAIServer(model_for(wire)) as srv:
            rlm = RLM(model, base_url=srv.base_url, api_key="k",
                      config=RLMConfig(step_timeout_s=30, max_iterations=4), **kw)
            return rlm.run(context=CONTEXT, query=QUERY)

    priced = run("openai/gpt-4o-mini", free=False)
    assert priced.status == "success" and priced.usage.input_tokens > 0
    assert priced.cost == pytest.approx(cost_of(priced.usage, PRICES["openai/gpt-4o-mini"]))
    unknown = run("openai/gpt-test", free=False)  # a model with no price: tokens, cost unknown
    assert unknown.status == "success" and unknown.usage.total_tokens > 0
    assert unknown.cost is None
    assert run("vllm/gpt-test").cost == 0.0  # a self-hosted server costs nothing
    gateway = run("groq/llama-3.3-70b-versatile", free=False)  # e.g. a paid proxy on loopback
    assert gateway.cost == pytest.approx(
        cost_of(gateway.usage, PRICES["groq/llama-3.3-70b-versatile"]))


def test_ollama_sets_num_ctx_to_fit_the_prompt_where_the_default_would_truncate() -> None:
    long_prompt: list[Message] = [{"role": "user", "content": "word " * 12_000}]  # ~15k tokens
    with OllamaServer(lambda body: "read it all", default_num_ctx=2048) as srv:
        raw = ollama.Client(host=srv.base_url)
        raw.chat(model="llama-test", messages=long_prompt, stream=False)
        assert len(srv.truncated) == 1  # the server's default window silently cuts the prompt
        out = ask(resolve("ollama/llama-test", base_url=srv.base_url, resilience=False),
                  long_prompt)
        sent = srv.requests[-1]["options"]["num_ctx"]
    assert out.text == "read it all" and out.cost == 0.0
    assert len(srv.truncated) == 1  # our call was not truncated
    assert sent >= 15_000 + 4096  # the prompt plus room for the reply


def test_ollama_refuses_a_prompt_larger_than_the_model_window() -> None:
    with OllamaServer(["never"]) as srv:
        provider = resolve("ollama/llama-test", base_url=srv.base_url, context_window=8192,
                           resilience=False)
        with pytest.raises(ProviderError, match="window is 8192") as info:
            ask(provider, [{"role": "user", "content": "word " * 40_000}])
    assert not info.value.retryable and srv.attempts == 0
