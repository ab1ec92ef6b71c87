"""What a user builds on: the response cache, the LiteLLM bridge, root and sub on different
wires, a failed item in llm_batch, and models that refuse a temperature."""

from __future__ import annotations

import asyncio
import json

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.errors import AuthenticationError, ProviderError
from rlm_toolkit.providers import resolve
from rlm_toolkit.providers.base import CompletionOptions, Message
from rlm_toolkit.providers.cache import CachedProvider
from rlm_toolkit.testing.servers import AnthropicServer, Fault, OpenAIServer

from .test_rlm_runs import CONTEXT, QUERY, model_for
from .wires import WIRES, Wire, fast, wire_params

HI: list[Message] = [{"role": "user", "content": "hi"}]
CONFIG = RLMConfig(step_timeout_s=30, max_iterations=4)


def ask(provider, messages: list[Message] = HI, **options):
    async def go():
        try:
            return await provider.complete(messages, CompletionOptions(**options))
        finally:
            await provider.aclose()

    return asyncio.run(go())


# --- the response cache --------------------------------------------------------------------

def test_cache_answers_a_repeated_request_from_disk_at_no_cost(tmp_path) -> None:
    db = tmp_path / "responses.sqlite"
    with OpenAIServer(lambda body: "fresh") as srv:
        first = ask(resolve("openai/gpt-4o-mini", base_url=srv.base_url, api_key="k",
                            free=False, cache=str(db)))
        streamed: list[str] = []
        again = resolve("openai/gpt-4o-mini", base_url=srv.base_url, api_key="k", free=False,
                        cache=str(db))  # a new process would build it just like this
        second = ask(again, on_token=streamed.append)
        other = ask(again, temperature=0.7)  # a different request: not a hit
    assert isinstance(again, CachedProvider) and again.hits == 1 and again.misses == 1
    assert len(srv.requests) == 2
    assert first.cost and first.cost > 0 and not first.cached
    assert second.text == "fresh" and second.cached and second.cost == 0.0
    assert second.usage.total_tokens == 0 and streamed == ["fresh"]
    assert not other.cached


def test_cache_keeps_servers_apart_and_skips_cut_off_replies(tmp_path) -> None:
    db = str(tmp_path / "c.sqlite")
    with OpenAIServer(["from a"] * 3) as a, OpenAIServer(["from b"]) as b:
        assert ask(resolve("openai/m", base_url=a.base_url, cache=db)).text == "from a"
        assert ask(resolve("openai/m", base_url=b.base_url, cache=db)).text == "from b"
        short = resolve("openai/m", base_url=a.base_url, cache=db)
        ask(short, [{"role": "user", "content": "long"}], max_tokens=1)
        ask(short, [{"role": "user", "content": "long"}], max_tokens=1)
    assert short.hits == 0  # a reply stopped by max_tokens is not stored
    assert len(a.requests) == 3 and len(b.requests) == 1


def test_a_whole_rerun_is_served_from_the_cache(tmp_path) -> None:
    db = str(tmp_path / "run.sqlite")
    wire = WIRES[0]
    with OpenAIServer(model_for(wire)) as srv:
        first = RLM(wire.spec, base_url=srv.base_url, api_key="k", cache=db,
                    config=CONFIG).run(context=CONTEXT, query=QUERY)
        made = len(srv.requests)
        second = RLM(wire.spec, base_url=srv.base_url, api_key="k", cache=db,
                     config=CONFIG).run(context=CONTEXT, query=QUERY)
    assert first.status == second.status == "success"
    assert second.answer == first.answer == "7-ALPHA-42"
    assert made == 3 and len(srv.requests) == made  # the rerun made no request
    assert second.cost == 0.0 and second.usage.total_tokens == 0


# --- the LiteLLM bridge ------------------------------------------------------------------

@pytest.fixture(scope="module")
def litellm_installed() -> None:
    pytest.importorskip("litellm")


@pytest.mark.usefixtures("litellm_installed")
@pytest.mark.parametrize(("server", "spec"), [(OpenAIServer, "litellm/openai/gpt-test"),
                                              (AnthropicServer, "litellm/anthropic/claude-test")],
                         ids=["openai-wire", "anthropic-wire"])
def test_litellm_bridge_reaches_a_wire_and_streams(server, spec: str) -> None:
    with server(["bridged reply"] * 2) as srv:
        provider = resolve(spec, base_url=srv.base_url, api_key="k", resilience=False)
        plain = ask(provider)
        tokens: list[str] = []
        streamed = ask(provider, on_token=tokens.append)
    assert plain.text == streamed.text == "bridged reply"
    assert "".join(tokens) == "bridged reply"
    assert plain.usage.input_tokens > 0 and plain.usage.output_tokens > 0
    assert plain.cost == 0.0 and len(srv.requests) == 2


@pytest.mark.usefixtures("litellm_installed")
def test_litellm_bridge_maps_errors_and_is_retried_by_the_toolkit() -> None:
    with OpenAIServer(["unused"], faults=[Fault.http(401)]) as srv, \
            pytest.raises(AuthenticationError):
        ask(resolve("litellm/openai/gpt-test", base_url=srv.base_url, api_key="k",
                    resilience=False, max_retries=0))
    with OpenAIServer(lambda body: "after faults",
                      faults=[Fault.http(503), Fault.http(429, retry_after=0)]) as srv:
        out = ask(resolve("litellm/openai/gpt-test", base_url=srv.base_url, api_key="k",
                          resilience=fast(max_retries=3)))
    assert out.text == "after faults" and srv.attempts == 3  # LiteLLM's own retries are off


# --- runs that mix providers -----------------------------------------------------------

def test_root_and_sub_on_different_wires() -> None:
    anthropic, openai_ = WIRES[1], WIRES[0]
    with AnthropicServer(model_for(anthropic)) as root_srv, \
            OpenAIServer(model_for(openai_)) as sub_srv:
        sub = resolve(openai_.spec, base_url=sub_srv.base_url, api_key="k", resilience=fast())
        rlm = RLM(anthropic.spec, sub, base_url=root_srv.base_url, api_key="k", config=CONFIG,
                  resilience=fast())
        result = rlm.run(context=CONTEXT, query=QUERY)
    assert result.status == "success" and result.answer == "7-ALPHA-42"
    assert len(root_srv.requests) == 2 and all(anthropic.is_root(b) for b in root_srv.requests)
    assert len(sub_srv.requests) == 1 and not openai_.is_root(sub_srv.requests[0])
    spans = {s.kind: s.attrs.get("model") for s in result.trace.spans() if s.kind in
             ("root_llm", "llm")}
    assert spans == {"root_llm": "anthropic/claude-test", "llm": "openai/gpt-test"}


def batch_model(wire: Wire):
    """Root: one llm_batch of five items, then FINAL_VAR; sub: item 3 always fails (400)."""
    def reply(body: dict):
        text = json.dumps(body)
        if not wire.is_root(body):
            return Fault.http(400, message="item 3 is refused") if "item 3" in text else "ok"
        if "ok, failed" in text:
            return "FINAL_VAR(summary)"
        return ("```repl\nres = llm_batch(['item %d: say ok' % i for i in range(5)])\n"
                "bad = [i for i, r in enumerate(res) if getattr(r, 'failed', False)]\n"
                "summary = f'{len(res) - len(bad)} ok, failed {bad}'\nprint(summary)\n```")
    return reply


@wire_params
def test_a_failed_item_in_llm_batch_is_isolated_and_in_the_trace(wire: Wire) -> None:
    with wire.server(batch_model(wire)) as srv:
        rlm = RLM(wire.spec, base_url=srv.base_url, api_key="k", config=CONFIG,
                  resilience=fast())
        result = rlm.run(context=CONTEXT, query="Ask about each item.")
    assert result.status == "success", result.error
    assert result.answer == "4 ok, failed [3]"
    failed = [s for s in result.trace.spans("llm") if s.error]
    assert len(failed) == 1 and "HTTP 400" in failed[0].error
    assert "item 3" in failed[0].attrs["prompt"]


# --- models that refuse a temperature ------------------------------------------------------

def no_temperature(body: dict) -> str | Fault:
    if "temperature" in body:
        return Fault.http(400, message="`temperature` is deprecated for this model.")
    return "answered"


@pytest.mark.parametrize(("server", "spec"), [(OpenAIServer, "openai/o3"),
                                              (AnthropicServer, "anthropic/claude-test")],
                         ids=["openai", "anthropic"])
def test_a_model_that_refuses_temperature_is_asked_again_without_it(server, spec) -> None:
    with server(no_temperature) as srv:
        provider = resolve(spec, base_url=srv.base_url, api_key="k", resilience=False)
        assert ask(provider, temperature=0.0).text == "answered"
        assert ask(provider, temperature=0.0).text == "answered"
    sent = ["temperature" in body for body in srv.requests]
    assert sent == [True, False, False]  # refused once, then never sent again


def test_newer_claude_models_get_no_temperature_at_all() -> None:
    with AnthropicServer(no_temperature) as srv:
        out = ask(resolve("anthropic/claude-sonnet-5-5", base_url=srv.base_url, api_key="k",
                          resilience=False), temperature=0.0)
    assert out.text == "answered" and len(srv.requests) == 1


def test_other_bad_requests_are_not_retried() -> None:
    with OpenAIServer(lambda body: Fault.http(400, message="messages: too many")) as srv, \
            pytest.raises(ProviderError, match="too many"):
        ask(resolve("openai/o3", base_url=srv.base_url, api_key="k", resilience=False),
            temperature=0.0)
    assert len(srv.requests) == 1
