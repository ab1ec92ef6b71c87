"""Every path out passes the gate: child runs, the verifier, llm_batch, memory summaries."""

from __future__ import annotations

import json

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.memory import HierarchicalMemory
from rlm_toolkit.providers.base import Message
from rlm_toolkit.testing.scripted import ScriptedLLM

EMAIL = "ann.lee@example.com"
DOC = "\n".join(["row 0: nothing", "row 1: nothing", "row 2: nothing",
                 f"row 3: written by {EMAIL}", "row 4: nothing"])


def text_of(requests: list[list[Message]]) -> str:
    return json.dumps(requests, ensure_ascii=False)


def test_a_child_runs_prompts_are_redacted_and_its_answer_restored() -> None:
    def root(messages: list[Message]) -> str:
        task = messages[1]["content"]
        child = "Who wrote row 3?" in task
        if len(messages) == 2:
            return ("```repl\nprint(context.splitlines()[3])\n```" if child else
                    "```repl\nr = rlm_query('Who wrote row 3?', context)\nprint(r)\n```")
        if child:
            return "```repl\nFINAL(context.splitlines()[3].split()[-1])\n```"
        return "```repl\nFINAL('The author is ' + r)\n```"

    root_llm, sub_llm = ScriptedLLM(root), ScriptedLLM(["unused"])
    rlm = RLM(root_llm, sub_llm, RLMConfig(max_depth=1, redact=["email"], step_timeout_s=30))
    result = rlm.run(context=DOC, query="Find the author")
    assert result.status == "success", result.error
    assert result.answer == f"The author is {EMAIL}"
    sent = text_of(root_llm.requests)
    assert EMAIL not in sent and "<EMAIL_1>" in sent
    assert len(root_llm.requests) == 4  # two turns of the child, two of the top-level run
    assert EMAIL not in json.dumps(result.trace.to_dict())


def test_the_verifier_and_llm_batch_go_through_the_gate() -> None:
    def root(messages: list[Message]) -> str:
        if len(messages) == 2:
            return ("```repl\nparts = llm_batch(['Who? ' + l for l in context.splitlines()])\n"
                    "hits = grep('written by')\nprint(parts)\n```")
        return "```repl\nFINAL(hits[0].text.split()[-1], cite=[hits[0]])\n```"

    def sub(messages: list[Message]) -> str:
        prompt = messages[-1]["content"]
        return "SUPPORTED: it says so" if "Reply with exactly one line" in prompt else "noone"

    root_llm, sub_llm = ScriptedLLM(root), ScriptedLLM(sub)
    rlm = RLM(root_llm, sub_llm, RLMConfig(verify=True, redact=["email"], step_timeout_s=30))
    result = rlm.run(context=DOC, query="Who wrote row 3?")
    assert result.status == "success", result.error
    assert result.answer == EMAIL
    verify_prompts = [r for r in sub_llm.requests if "Reply with exactly one line" in
                      r[-1]["content"]]
    assert len(verify_prompts) == 1 and "<EMAIL_1>" in verify_prompts[0][-1]["content"]
    assert EMAIL not in text_of(sub_llm.requests) + text_of(root_llm.requests)
    purposes = result.egress["providers"]["scripted/model"]["purposes"]
    assert purposes["verify"] == 1 and purposes["sub"] == 5 and purposes["root"] == 2


def test_memory_summaries_written_by_an_rlm_are_redacted() -> None:
    sub = ScriptedLLM(lambda m: "The user writes from <EMAIL_1>")
    rlm = RLM(ScriptedLLM(["unused"]), sub, RLMConfig(redact=["email"]))
    memory = HierarchicalMemory(llm=rlm)
    for i in range(12):
        memory.add_episode(f"The user wrote from {EMAIL} about topic {i}")
    report = memory.consolidate()
    assert report.llm_calls == sub.calls > 0
    assert EMAIL not in text_of(sub.requests) and "<EMAIL_1>" in text_of(sub.requests)
    assert rlm.direct_egress is not None
    assert rlm.direct_egress.audit.to_dict()["redactions"]["EMAIL"] >= 12


async def test_a_plain_chat_call_outside_a_run_is_redacted_and_restored() -> None:
    """`rlm.complete` (the HTTP server's pass-through) passes the gate like a run's prompts."""
    from rlm_toolkit.providers.base import CompletionOptions

    root = ScriptedLLM(lambda m: "Noted, I will write to <EMAIL_1>.")
    rlm = RLM(root, ScriptedLLM(["unused"]), RLMConfig(redact=["email"]))
    reply = await rlm.complete([{"role": "user", "content": f"Remember {EMAIL}"}],
                               CompletionOptions())
    assert root.requests == [[{"role": "user", "content": "Remember <EMAIL_1>"}]]
    assert reply.text == f"Noted, I will write to {EMAIL}."
    assert rlm.direct_egress is not None
    assert rlm.direct_egress.audit.to_dict()["providers"]["scripted/model"]["purposes"] == {
        "root": 1}
