"""Whole runs over a loopback OpenAI wire: a failing sub model stays isolated from the root,
and nothing a run leaves behind accumulates in a long-lived RLM."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.providers.resilience import ResilientProvider
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.servers import Fault, OpenAIServer

from .wires import WIRES, fast

OPENAI = WIRES[0]
CONTEXT = "Line one.\nThe answer is 42.\n"


def failing_subs(body: dict[str, Any]) -> str | Fault:
    """The root asks six sub-calls and answers; every sub-call gets a 503."""
    if not OPENAI.is_root(body):
        return Fault.http(503)
    if any(m["role"] == "assistant" for m in body["messages"]):  # the step has run
        return "FINAL(root still answers)"
    return ("```repl\nout = llm_batch(['sub ' + str(i) for i in range(6)])\nprint(out)\n```")


def test_a_persistently_failing_sub_model_does_not_open_the_roots_breaker() -> None:
    with OpenAIServer(failing_subs) as srv:
        rlm = RLM("openai/gpt-test", base_url=srv.base_url, api_key="k",
                  resilience=fast(max_retries=0, breaker_threshold=2, breaker_cooldown_s=1000),
                  config=RLMConfig(step_timeout_s=30, max_iterations=3))
        first = rlm.run(context=CONTEXT, query="What is the answer?")
        second = rlm.run(context=CONTEXT, query="What is the answer?")
    assert isinstance(rlm.sub, ResilientProvider) and isinstance(rlm.root, ResilientProvider)
    assert rlm.sub.breaker.state == "open"  # the sub model is failing: its own breaker is open
    assert rlm.root.breaker.state == "closed"
    for result in (first, second):
        assert result.status == "success", result.error
        assert result.answer == "root still answers"


def test_fifty_runs_leave_no_per_loop_state_behind() -> None:
    def reply(body: dict[str, Any]) -> str:
        return "FINAL(done)"

    before = closed_loops()
    with OpenAIServer(reply) as srv:
        rlm = RLM("openai/gpt-test", base_url=srv.base_url, api_key="k", resilience=fast(),
                  config=RLMConfig(step_timeout_s=30, max_iterations=2))
        for _ in range(50):
            assert rlm.run(context=CONTEXT, query="q").answer == "done"
    assert closed_loops() - before <= 1  # each run's event loop is freed with the run


def closed_loops() -> int:
    """Closed event loops still alive in this process (something holds on to them)."""
    gc.collect()
    return sum(1 for o in gc.get_objects()
               if isinstance(o, asyncio.AbstractEventLoop) and o.is_closed())


def test_the_same_provider_object_as_root_and_sub_gets_two_breakers() -> None:
    shared = ResilientProvider(ScriptedLLM(["x"]))
    rlm = RLM(shared, shared)
    assert isinstance(rlm.sub, ResilientProvider)
    assert rlm.root is shared and rlm.sub.breaker is not shared.breaker
    assert rlm.sub.inner is shared.inner
