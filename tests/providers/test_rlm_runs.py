"""Whole RLM runs through each native wire: the root writes a repl block that calls llm(),
then answers; transient faults are survived, permanent ones end with a clear status, the
partial answer and the cause in the trace."""

from __future__ import annotations

import json

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.testing.servers import Fault

from .wires import Wire, fast, wire_params

CONTEXT = "".join(f"Quarterly note {i}.\n" for i in range(3000)) + "The launch code is 7-ALPHA-42.\n"
QUERY = "What is the launch code?"


def model_for(wire: Wire):
    """A scripted model driven by what it is sent (stateless, so retries are harmless)."""

    def reply(body: dict) -> str:
        text = json.dumps(body)
        if not wire.is_root(body):
            return "7-ALPHA-42"
        if "7-ALPHA-42" in text:
            return "FINAL_VAR(code)"
        return ("```repl\nanswer['content'] = 'draft: still looking'\n"
                "code = llm('Extract the launch code from: ' + context[-40:])\nprint(code)\n```")

    return reply


def run(wire: Wire, srv, **kw):
    rlm = RLM(wire.spec, base_url=srv.base_url, api_key="test-key",
              config=RLMConfig(step_timeout_s=30, max_iterations=4), **kw)
    return rlm.run(context=CONTEXT, query=QUERY)


@wire_params
def test_rlm_run_through_the_wire(wire: Wire) -> None:
    with wire.server(model_for(wire)) as srv:
        result = run(wire, srv, resilience=fast())
    assert result.status == "success", result.error
    assert result.answer == "7-ALPHA-42"
    assert result.subcalls == 1
    assert result.usage.input_tokens > 0 and result.cost == 0.0
    roots = [b for b in srv.requests if wire.is_root(b)]
    assert len(roots) == 2
    assert all(len(json.dumps(b)) < 20_000 for b in roots)  # the 60K context stays out


@wire_params
def test_rlm_run_survives_transient_faults(wire: Wire) -> None:
    faults = [Fault.http(429, retry_after=0), Fault.http(503), None, Fault.reset(),
              Fault.malformed(), None, Fault.http(500), Fault.cut()]
    with wire.server(model_for(wire), faults=faults) as srv:
        result = run(wire, srv, resilience=fast(max_retries=3))
    assert result.status == "success", result.error
    assert result.answer == "7-ALPHA-42"
    assert srv.attempts >= len(faults)


@wire_params
def test_rlm_run_with_a_dead_provider_keeps_partial_answer_and_cause(wire: Wire) -> None:
    # The first root call and the sub-call succeed; from then on the server only fails.
    with wire.server(model_for(wire), faults=[None, None] + [Fault.http(503)] * 20) as srv:
        result = run(wire, srv, resilience=fast(max_retries=2))
    assert result.status == "error"
    assert result.answer == "draft: still looking"
    assert "503" in (result.error or "")
    trace = json.dumps(result.trace.to_dict())
    assert "HTTP 503" in trace


def test_fallback_chain_moves_to_the_second_wire() -> None:
    from rlm_toolkit.providers import resolve
    from rlm_toolkit.testing.servers import AnthropicServer, OpenAIServer

    from .wires import WIRES

    with AnthropicServer(["x"], faults=[Fault.http(529)] * 50) as dead, \
            OpenAIServer(model_for(WIRES[0])) as alive:
        chain = [resolve("anthropic/claude-test", base_url=dead.base_url, api_key="k",
                         resilience=fast(max_retries=1)),
                 resolve("openai/gpt-test", base_url=alive.base_url, api_key="k",
                         resilience=fast(max_retries=1))]
        rlm = RLM(chain, config=RLMConfig(step_timeout_s=30, max_iterations=4))
        result = rlm.run(context=CONTEXT, query=QUERY)
    assert result.status == "success", result.error
    assert result.answer == "7-ALPHA-42"
    assert dead.attempts >= 2 and len(alive.requests) == 3


@wire_params
def test_root_tokens_stream_to_the_event_callback(wire: Wire) -> None:
    events = []
    with wire.server(model_for(wire)) as srv:
        rlm = RLM(wire.spec, base_url=srv.base_url, api_key="test-key",
                  config=RLMConfig(step_timeout_s=30, max_iterations=4), resilience=fast())
        result = rlm.run(context=CONTEXT, query=QUERY, on_event=events.append)
    assert result.status == "success", result.error
    by_step: dict[int, str] = {}
    for e in events:
        if e.kind == "token":
            by_step[e.iteration] = by_step.get(e.iteration, "") + e.data["text"]
    assert by_step[2] == "FINAL_VAR(code)"  # the second root reply, streamed piece by piece
    assert by_step[1].startswith("```repl\nanswer['content']")
    assert sum(e.kind == "token" for e in events) > 4
