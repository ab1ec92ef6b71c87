"""Text from the worker is untrusted: lone surrogates and NULs in what the code prints, asks a
sub-model or gives as its answer are made safe before they reach the trace or a provider."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.sandbox import Worker, WorkerOptions
from rlm_toolkit.testing.servers import OpenAIServer

from .conftest import TIERS, repl

STEP_1 = repl('print("A\\udfffB\\x00C")\n'
              's = llm("SUB-QUESTION \\udfff\\x00")\n'
              'print("sub said", s)')
STEP_2 = repl('FINAL("answer \\udfff end")')


def _lone_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_bad_text_from_the_worker_reaches_the_wire_and_the_trace_made_safe(
        sandbox: str, tmp_path: Path) -> None:
    roots = [STEP_1, STEP_2, STEP_1, STEP_2]

    def reply(body: dict[str, Any]) -> str:
        last = str(body["messages"][-1]["content"])
        return "sub-ok" if last.startswith("SUB-QUESTION") else roots.pop(0)

    with OpenAIServer(reply) as srv:
        rlm = RLM("openai/test-model", config=RLMConfig(sandbox=sandbox, step_timeout_s=20,
                                                        max_iterations=4),
                  base_url=srv.base_url, api_key="test-key")
        first = rlm.run(context="some text", query="What does it say?")
        path = tmp_path / "trace.jsonl"
        first.trace.save(path)  # raised on a lone surrogate
        second = rlm.run(context="more text", query="And now?")  # the next root call works
        requests = json.dumps(srv.requests, ensure_ascii=False)

    for result in (first, second):
        assert result.status == "success", result.error
        assert result.answer == "answer \ufffd end"
    saved = path.read_text(encoding="utf-8")
    assert "A\ufffdB\ufffdC" in saved and not _lone_surrogates(saved)
    assert "\\u0000" not in saved
    subs = [str(b["messages"][-1]["content"]) for b in srv.requests
            if str(b["messages"][-1]["content"]).startswith("SUB-QUESTION")]
    assert subs == ["SUB-QUESTION \ufffd\ufffd"] * 2, subs
    feedback = [p for p in srv.prompt_texts() if "sub said" in p]
    assert feedback and "A\ufffdB\ufffdC" in feedback[0]
    assert not _lone_surrogates(requests) and "\\u0000" not in requests


WRONG_TYPES = """
ch = llm.__self__._call.channel
replies = []
for call in (
    {'op': 'call', 'id': 1, 'method': 'llm', 'args': {'prompts': [1, {'x': 2}]}},
    {'op': 'call', 'id': 2, 'method': 'llm', 'args': {'prompts': ['ok'], 'options': 'hot'}},
    {'op': 'call', 'id': 3, 'method': 'rlm', 'args': {'prompts': ['q'], 'contexts': [0]}},
    {'op': 'call', 'id': 4, 'method': 'rlm', 'args': {'prompts': ['q'], 'contexts': [True]},
     'attachments': ['str']},
    {'op': 'call', 'id': 5, 'method': 7, 'args': {}},
):
    ch.send(call)
    replies.append(ch.recv().get('error', 'NO ERROR'))
print('\\n'.join(replies))
"""


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_calls_with_fields_of_the_wrong_type_are_refused_before_the_handler(
        sandbox: str) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    async def handler(method: str, args: dict[str, Any]) -> Any:
        seen.append((method, args))
        return ["answer"]

    async def main() -> str:
        async with Worker("ctx", WorkerOptions(sandbox=sandbox, step_timeout_s=20)) as worker:
            return (await worker.execute(WRONG_TYPES, handler)).stdout

    errors = asyncio.run(main()).splitlines()
    assert errors == [
        "malformed call: prompts is not a list of strings",
        "malformed call: options is not an object",
        "malformed call: context reference 0 names no attachment",
        "malformed call: attachments do not match the blobs sent",
        "malformed call: no method name or no argument object",
    ], errors
    assert seen == []
