"""Big payloads cross the channel: an llm_batch of 18 MB, and a 20 MB child context sent as an
attachment (raw bytes in frames, not inside the JSON), keeping its type."""

from __future__ import annotations

from typing import Any

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.testing import ScriptedLLM

from .conftest import TIERS, repl

BATCH = repl(
    "prompts = [f'{i:03d}' + 'x' * 99_997 for i in range(180)]\n"
    "out = llm_batch(prompts)\n"
    "print(len(out), out[0], out[179])\n"
    "FINAL(' '.join(out))")


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_an_llm_batch_of_180_prompts_of_100000_chars_is_served_whole(sandbox: str) -> None:
    root = ScriptedLLM([BATCH])
    sub = ScriptedLLM(lambda messages: f"got-{str(messages[-1]['content'])[:3]}-"
                      f"{len(str(messages[-1]['content']))}")
    result = RLM(root, sub, RLMConfig(sandbox=sandbox, step_timeout_s=60, max_iterations=2)).run(
        context="ctx", query="q")
    assert result.status == "success", result.error
    assert result.answer == " ".join(f"got-{i:03d}-100000" for i in range(180))
    assert sub.calls == 180
    assert "restarted" not in str(root.requests)


CHILD = repl(
    "big = 'y' * 20_000_000\n"
    "raw = bytes(range(256)) * 80_000\n"
    "a = rlm_query('CHILD-TASK text', context=big)\n"
    "b = rlm_query('CHILD-TASK bytes', context=raw)\n"
    "c = rlm_query('CHILD-TASK json', context={'k': ['\\udfff', 1]})\n"
    "FINAL(a + ' | ' + b + ' | ' + c)")
PROBE = repl("FINAL(f'{type(context).__name__} {len(context)} {repr(context)[:20]}')")


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_a_20_mb_child_context_reaches_the_child_run_whole_and_typed(sandbox: str) -> None:
    def reply(messages: list[Any]) -> str:
        return PROBE if "CHILD-TASK" in str(messages) else CHILD

    root = ScriptedLLM(reply)
    config = RLMConfig(sandbox=sandbox, step_timeout_s=60, max_iterations=2, max_depth=2)
    result = RLM(root, ScriptedLLM(["unused"]), config).run(context="ctx", query="q")
    assert result.status == "success", result.error
    text, raw, js = str(result.answer).split(" | ")
    assert text == "str 20000000 '" + "y" * 19
    assert raw == "bytes 20480000 " + repr(bytes(range(256)))[:20]
    assert js == "dict 1 {'k': ['\ufffd', 1]}"
