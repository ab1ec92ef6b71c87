"""Sub-calls: batches, failure isolation, de-duplication, recursion, caps, window guard."""

from __future__ import annotations

from rlm_toolkit.errors import ProviderError
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

DOC = "\n".join(f"chunk {i} " + "text " * 100 for i in range(40))


def last_feedback(root: ScriptedLLM) -> str:
    return root.requests[-1][-1]["content"]


def test_llm_batch_keeps_input_order_and_isolates_failures() -> None:
    def sub_reply(messages):
        prompt = messages[-1]["content"]
        if prompt == "p3":
            raise ProviderError("503 service unavailable", status=503)
        return prompt.upper()
    sub = ScriptedLLM(sub_reply, latency_s=0.01)
    root = ScriptedLLM([
        repl("res = llm_batch(['p%d' % i for i in range(8)])\nprint(res)\n"
             "print([getattr(r, 'failed', False) for r in res])"),
        repl("FINAL(','.join(r for r in res if not getattr(r, 'failed', False)))"),
    ])
    result = make_rlm(root, sub, concurrency=4).run(context=DOC, query="q")
    assert result.answer == "P0,P1,P2,P4,P5,P6,P7"
    assert "[LLM call failed: 503 service unavailable]" in root.requests[1][-1]["content"]
    failed = [s for s in result.trace.spans("llm") if s.error]
    assert len(failed) == 1 and "503" in failed[0].error


def test_single_llm_failure_raises_in_model_code() -> None:
    sub = ScriptedLLM([ProviderError("401 bad key", status=401)])
    root = ScriptedLLM([repl("llm('hi')"), repl("FINAL('after')")])
    result = make_rlm(root, sub).run(context=DOC, query="q")
    assert "RuntimeError: llm() failed" in root.requests[1][-1]["content"]
    assert result.answer == "after"


def test_identical_subcalls_are_made_once() -> None:
    sub = ScriptedLLM(lambda m: "same", latency_s=0.02)
    root = ScriptedLLM([repl("a = llm_batch(['dup'] * 5)\nb = llm('dup')\nFINAL(len(a) + len(b))")])
    result = make_rlm(root, sub).run(context=DOC, query="q")
    assert result.answer == "9"
    assert sub.calls == 1


def test_recursion_to_depth_two_then_plain_calls() -> None:
    seen_depth_queries: list[str] = []

    def root_reply(messages):
        query = messages[1]["content"].split("\n")[0]
        seen_depth_queries.append(query)
        if query == "Query: top":
            return repl("FINAL(rlm_query('mid', context=context[:2000]))")
        if query == "Query: mid":
            return repl("FINAL('mid->' + rlm_query('leaf', context=context[:500]))")
        if query == "Query: leaf":
            return repl("FINAL('leaf->' + rlm_query('too deep'))")
        raise AssertionError(query)

    sub = ScriptedLLM(lambda m: "plain:" + m[-1]["content"][:8])
    result = make_rlm(ScriptedLLM(root_reply), sub, max_depth=2).run(context=DOC, query="top")
    assert result.answer == "mid->leaf->plain:too deep"
    assert seen_depth_queries == ["Query: top", "Query: mid", "Query: leaf"]
    assert [s.attrs["depth"] for s in result.trace.spans("run")] == [0, 1, 2]
    assert len(result.trace.spans("child_run")) == 2


def test_per_step_call_cap_is_enforced_by_the_host() -> None:
    sub = ScriptedLLM(lambda m: "x")
    root = ScriptedLLM([repl("r = llm_batch(['a%d' % i for i in range(50)])"), repl("FINAL('capped')")])
    result = make_rlm(root, sub, max_calls_per_step=10).run(context=DOC, query="q")
    assert sub.calls == 0
    assert "at most 10 are allowed per step" in root.requests[1][-1]["content"]
    assert result.answer == "capped"


def test_prompt_larger_than_sub_window_is_refused_with_advice() -> None:
    sub = ScriptedLLM(lambda m: "x", context_window=1000)
    root = ScriptedLLM([repl("print(llm_batch([context])[0])"), repl("FINAL('split it')")])
    make_rlm(root, sub).run(context=DOC, query="q")
    assert sub.calls == 0
    assert "larger than scripted/model's window of 1,000" in root.requests[1][-1]["content"]


def test_a_child_run_over_a_dict_context_sees_it_described_and_whole() -> None:
    def reply(messages: list[dict[str, str]]) -> str:
        task = messages[1]["content"]
        if task.startswith("Query: count"):  # the child
            return repl("FINAL(str(len(context['rows'])) + ' ' + context['when'])")
        return repl("FINAL(rlm_query('count', context={'rows': list(range(40)), "
                    "'when': 'today'}))")

    root = ScriptedLLM(reply)
    result = make_rlm(root, max_depth=1).run(context="parent text", query="delegate")
    assert result.answer == "40 today"
    child_task = next(r[1]["content"] for r in root.requests
                      if r[1]["content"].startswith("Query: count"))
    assert "- type: dict" in child_task and "dict with 2 keys" in child_task
