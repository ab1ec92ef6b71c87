"""Structured sub-calls (llm(..., schema=...)), goal pinning and solve(goal)."""

from __future__ import annotations

import json
from typing import Any

from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.servers import Fault, OpenAIServer
from tests.helpers import make_rlm, repl

DOC = "\n".join(f"Report {i}: revenue grew {i} percent." for i in range(1, 6))
QUERY = "How much did revenue grow in report 3?"


def last(root: ScriptedLLM) -> str:
    return root.requests[-1][-1]["content"]


def test_a_schema_sub_call_returns_fields_by_attribute() -> None:
    sub = ScriptedLLM(['{"summary": "grew 3 percent", "percent": 3}'])
    root = ScriptedLLM([
        repl("r = llm('Report 3: revenue grew 3 percent.', schema={'summary': str, 'percent': int})"
             "\nprint(r.summary, '|', r.percent + 1, '|', r['summary'])"),
        repl("FINAL(r.percent)"),
    ])
    result = make_rlm(root, sub).run(context=DOC, query=QUERY)
    assert "grew 3 percent | 4 | grew 3 percent" in root.requests[1][-1]["content"]
    assert result.answer == "3"
    system, prompt = sub.requests[0][0]["content"], sub.requests[0][-1]["content"]
    assert prompt.startswith("Report 3: revenue grew 3 percent.")
    # the schema reached the sub-model, before the prompt (a shared, cacheable head)
    assert sub.requests[0][0]["role"] == "system" and '"percent":{"type":"integer"}' in system
    schema = sub.options[0].json_schema or {}  # the provider is asked for this JSON shape
    assert schema["properties"]["percent"] == {"type": "integer"}


def test_an_invalid_reply_is_asked_again_once_with_the_problem() -> None:
    sub = ScriptedLLM(['Sure! The percent is three.', '{"summary": "s", "percent": 3}'])
    root = ScriptedLLM([repl("r = llm('x', schema={'summary': str, 'percent': int})\n"
                             "print(r.percent)"), repl("FINAL(r.percent)")])
    result = make_rlm(root, sub).run(context=DOC, query=QUERY)
    assert result.answer == "3"
    retry = sub.requests[1]
    assert retry[-2] == {"role": "assistant", "content": "Sure! The percent is three."}
    assert "does not match the schema: the reply is not JSON" in retry[-1]["content"]
    span = result.trace.spans("llm")[0]
    assert span.attrs["attempts"] == 2


def test_invalid_twice_raises_in_model_code_with_the_problem() -> None:
    sub = ScriptedLLM(['{"summary": 1}', '{"summary": 2}'])
    root = ScriptedLLM([repl("r = llm('x', schema={'summary': str})"), repl("FINAL('done')")])
    result = make_rlm(root, sub).run(context=DOC, query=QUERY)
    feedback = root.requests[1][-1]["content"]
    assert "RuntimeError: llm() failed: the reply did not match the schema twice" in feedback
    assert "at summary: 2 is not of type 'string'" in feedback
    assert sub.calls == 2
    assert result.trace.spans("llm")[0].error


def test_llm_batch_with_a_schema_keeps_order_and_isolates_a_bad_item() -> None:
    def reply(messages: list[dict[str, Any]]) -> str:
        text = messages[-1]["content"] if messages[-1]["role"] == "user" else ""
        if "does not match" in text:
            return "still not json"
        n = int(text.split("Report ")[1][0])
        return "nonsense" if n == 2 else json.dumps({"percent": n})
    sub = ScriptedLLM(reply)
    root = ScriptedLLM([
        repl("rs = llm_batch(context.splitlines(), schema={'percent': int})\n"
             "print([getattr(r, 'percent', 'failed') for r in rs])"),
        repl("FINAL(rs[2].percent)"),
    ])
    result = make_rlm(root, sub).run(context=DOC, query=QUERY)
    assert "[1, 'failed', 3, 4, 5]" in root.requests[1][-1]["content"]
    assert result.answer == "3"


def test_a_full_json_schema_works_in_the_repl() -> None:
    sub = ScriptedLLM(['{"tags": ["a", "b"]}'])
    root = ScriptedLLM([repl(
        "r = llm('x', schema={'type': 'object', 'properties': {'tags': {'type': 'array', "
        "'items': {'type': 'string'}}}, 'required': ['tags']})\nprint(r.tags)"),
        repl("FINAL(len(r.tags))")])
    assert make_rlm(root, sub).run(context=DOC, query=QUERY).answer == "2"


def _wire(body: dict[str, Any]) -> str:
    messages = body["messages"]
    if messages[0]["role"] == "system" and "Query:" in messages[1]["content"]:
        if len(messages) == 2:
            return repl("r = llm('Report 3: revenue grew 3 percent.', "
                        "schema={'percent': int})\nprint(r.percent)")
        return repl("FINAL(r.percent)")
    return '{"percent": 3}'


def test_schema_sub_calls_use_the_structured_output_mode_of_an_openai_server() -> None:
    from rlm_toolkit import RLM, RLMConfig

    with OpenAIServer(_wire) as server:
        rlm = RLM.from_openai("m", base_url=server.base_url, api_key="x",
                              config=RLMConfig(step_timeout_s=20))
        result = rlm.run(context=DOC, query=QUERY)
        bodies = list(server.requests)
    assert result.answer == "3"
    sub = [b for b in bodies if "response_format" in b]
    assert len(sub) == 1
    fmt = sub[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"]["properties"] == {"percent": {"type": "integer"}}


def test_a_server_without_structured_outputs_falls_back_to_prompt_and_check() -> None:
    from rlm_toolkit import RLM, RLMConfig

    def refuse(body: dict[str, Any]) -> Any:
        if "response_format" in body:
            return Fault.http(400, message="response_format json_schema is not supported")
        return _wire(body)

    with OpenAIServer(refuse) as server:
        rlm = RLM.from_openai("m", base_url=server.base_url, api_key="x",
                              config=RLMConfig(step_timeout_s=20))
        result = rlm.run(context=DOC, query=QUERY)
        bodies = list(server.requests)
    assert result.answer == "3"
    assert sum("response_format" in b for b in bodies) == 1  # tried once, then not again
    plain = [b for b in bodies if "Reply with one JSON value only" in json.dumps(b)]
    assert any("response_format" not in b for b in plain)


def test_sub_calls_carry_the_goal_when_pinned() -> None:
    sub = ScriptedLLM(lambda m: "ok")
    root = ScriptedLLM([repl("print(llm('Summarise: Report 3: revenue grew 3 percent.'))"),
                        repl("FINAL('3')")])
    make_rlm(root, sub).run(context=DOC, query=QUERY)
    system = sub.requests[0][0]
    assert system["role"] == "system"
    assert f"The goal of the whole task: {QUERY}" in system["content"]
    assert sub.requests[0][-1]["content"] == "Summarise: Report 3: revenue grew 3 percent."


def test_no_goal_in_sub_calls_when_not_pinned() -> None:
    sub = ScriptedLLM(lambda m: "ok")
    root = ScriptedLLM([repl("print(llm('Summarise this.'))"), repl("FINAL('3')")])
    make_rlm(root, sub, pin_goal=False).run(context=DOC, query=QUERY)
    assert sub.requests[0] == [{"role": "user", "content": "Summarise this."}]


def test_a_child_run_is_told_the_goal_of_the_whole_task() -> None:
    tasks: list[str] = []

    def root_reply(messages: list[dict[str, Any]]) -> str:
        task = messages[1]["content"]
        tasks.append(task)
        if task.startswith(f"Query: {QUERY}"):
            if len(messages) == 2:
                return repl("a = rlm_query('What is in this part?', context=context[:60])\n"
                            "print(a)")
            return repl("FINAL(a)")
        return repl("FINAL('part answer')") if len(messages) > 2 else repl("print(context)")

    result = make_rlm(ScriptedLLM(root_reply)).run(context=DOC, query=QUERY)
    assert result.answer == "part answer"
    child = next(t for t in tasks if t.startswith("Query: What is in this part?"))
    assert f"part of a larger task whose goal is: {QUERY}" in child


def test_solve_plans_runs_fresh_steps_with_the_goal_and_synthesises() -> None:
    def sub_reply(messages: list[dict[str, Any]]) -> str:
        text = messages[-1]["content"]
        if text.startswith("Plan how to reach"):
            return json.dumps({"steps": ["find report 3", "read its growth"]})
        if "Your step (1 of 2)" in text:
            return json.dumps({"result": "Report 3 is the third line", "summary": "found it"})
        if "Your step (2 of 2)" in text:
            assert "1. find report 3 -> found it" in text  # results so far, in summary form
            return json.dumps({"result": "3 percent", "summary": "grew 3 percent"})
        assert "give the final answer" in text and "3 percent" in text
        return "Revenue grew 3 percent."

    sub = ScriptedLLM(sub_reply)
    root = ScriptedLLM([repl(f"out = solve({QUERY!r})\nprint(out)"), repl("FINAL(out)")])
    result = make_rlm(root, sub).run(context=DOC, query=QUERY)
    assert result.answer == "Revenue grew 3 percent."
    names = [s.name for s in result.trace.spans("llm")]
    assert names == ["solve: plan", "solve step 1: find report 3",
                     "solve step 2: read its growth", "solve: synthesis"]
    for request in sub.requests:  # every step is a fresh call that states the goal
        assert len(request) == 2 or QUERY in json.dumps(request)
        assert QUERY in json.dumps(request)


def test_solve_with_given_steps_makes_no_plan_call() -> None:
    sub = ScriptedLLM(lambda m: json.dumps({"result": "r", "summary": "s"})
                      if "Your step" in m[-1]["content"] else "final")
    root = ScriptedLLM([repl("out = solve('g', steps=['a', 'b', 'c'])\nprint(out)"),
                        repl("FINAL(out)")])
    result = make_rlm(root, sub).run(context=DOC, query=QUERY)
    assert result.answer == "final"
    assert sub.calls == 4


def test_solve_runs_from_a_program_without_a_root_model() -> None:
    from rlm_toolkit import RLM, RLMConfig
    from rlm_toolkit.patterns import solve_in_program

    sub = ScriptedLLM(lambda m: json.dumps({"result": "3 percent", "summary": "3"})
                      if "Your step" in m[-1]["content"] else "Revenue grew 3 percent.")
    rlm = RLM(ScriptedLLM([]), sub, RLMConfig(step_timeout_s=20))
    result = solve_in_program(rlm, DOC, QUERY, steps=["read report 3"])
    assert result.status == "success"
    assert result.answer == "Revenue grew 3 percent."
    assert [s.name for s in result.trace.spans("llm")] == [
        "solve step 1: read report 3", "solve: synthesis"]


def test_a_schema_that_is_not_valid_is_refused_and_costs_nothing() -> None:
    sub = ScriptedLLM(lambda m: "fine")
    root = ScriptedLLM([
        repl("try:\n    llm('x', schema={'type': 'no-such-type'})\n"
             "except RuntimeError as e:\n    print('refused:', e)"),
        repl("print(llm('y'))"),
        repl("FINAL('x')"),
    ])
    result = make_rlm(root, sub, max_subcalls=1).run(context=DOC, query=QUERY)
    assert "refused: ValueError: the output JSON schema is not valid" in \
        root.requests[1][-1]["content"]
    assert "fine" in root.requests[2][-1]["content"]  # the refused call held no budget
    assert sub.calls == 1
    assert result.subcalls == 1 and result.status == "success"
