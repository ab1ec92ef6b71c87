"""RLMConfig(verify=True): the verifier's sub-call, one more chance, and honest "not found"."""

from __future__ import annotations

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.engine.grounding import parse_verdict
from rlm_toolkit.errors import ConfigError
from rlm_toolkit.providers.base import estimate_tokens, messages_tokens
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

TEXT = ("Harbor log, spring.\n"
        "The ferry leaves at 07:40 from pier 3.\n"
        "The vault code for the west wing is 11111.\n"
        "The vault code for the east wing is 48213.\n")
QUERY = "What is the vault code for the east wing?"


def judge_by(rule: dict[str, str]) -> ScriptedLLM:
    """A verify model that answers by which answer it is shown."""

    def reply(messages: list[dict[str, str]]) -> str:
        prompt = messages[-1]["content"]
        answer = prompt.split("Answer: ", 1)[1].split("\n", 1)[0]
        return rule.get(answer, "NOT: unexpected answer")

    return ScriptedLLM(reply, name="scripted/judge")


def test_a_rejected_answer_gets_the_reason_and_one_more_chance() -> None:
    root = ScriptedLLM([
        repl("hits = grep('vault code')\nprint(hits)"),
        repl("FINAL('11111', cite=[hits[0]])"),  # the west wing's line
        repl("FINAL('48213', cite=[hits[1]])"),
    ])
    judge = judge_by({"11111": "NOT: the cited line is about the west wing",
                      "48213": "SUPPORTED: the line gives the east wing's code"})
    result = make_rlm(root, judge, verify=True).run(context=TEXT, query=QUERY)
    assert result.answer == "48213" and result.status == "success"
    assert result.grounded is True and result.verdict is not None
    assert result.verdict.support == "supported"
    # The root was told why its first answer was refused.
    assert "the cited line is about the west wing" in root.requests[2][-1]["content"]
    assert judge.calls == 2
    judged = judge.requests[1][-1]["content"]
    assert "The vault code for the east wing is 48213." in judged  # the cited text reached it


def test_still_unsupported_after_the_second_chance_is_marked_unverified() -> None:
    root = ScriptedLLM([
        repl("hits = grep('vault code')\nprint(hits)"),
        repl("FINAL('11111', cite=[hits[0]])"),
        repl("FINAL('11111', cite=[hits[0]])"),
    ])
    judge = judge_by({"11111": "NOT: the cited line is about the west wing"})
    result = make_rlm(root, judge, verify=True).run(context=TEXT, query=QUERY)
    assert result.answer == "11111" and result.status == "success"
    assert result.grounded is False and result.unverified
    assert "[unverified: the cited line is about the west wing]" in str(result)
    assert result.summary()["grounded"] is False
    assert judge.calls == 2 and root.calls == 3  # one more chance, not more


def test_verify_with_no_citation_counts_as_unsupported_without_a_judge_call() -> None:
    root = ScriptedLLM([repl("print(grep('east wing'))"), repl("FINAL('48213')"),
                        repl("FINAL('48213')")])
    judge = judge_by({})
    result = make_rlm(root, judge, verify=True).run(context=TEXT, query=QUERY)
    assert result.grounded is False
    assert result.verdict is not None and "cites nothing" in result.verdict.reason
    assert not result.verdict.judged and judge.calls == 0
    assert "cites nothing" in root.requests[2][-1]["content"]


def test_a_computed_answer_is_judged_on_its_code_which_is_recorded() -> None:
    root = ScriptedLLM([repl("n = len(grep('vault code'))\nprint(n)"), repl("FINAL(str(n))")])
    judge = judge_by({"2": "SUPPORTED: the code counts the vault code lines"})
    result = make_rlm(root, judge, verify=True).run(
        context=TEXT, query="How many vault codes are listed?")
    assert result.answer == "2" and result.grounded is True
    assert "n = len(grep('vault code'))" in result.evidence_code
    assert "n = len(grep('vault code'))" in judge.requests[0][-1]["content"]


def test_an_invalid_citation_is_refused_without_asking_the_judge() -> None:
    root = ScriptedLLM([repl("print(grep('east'))"),
                        repl("FINAL('48213', cite=['east wing code: 48213'])"),
                        repl("FINAL('48213', cite=[grep('east wing')[0]])")])
    judge = judge_by({"48213": "SUPPORTED: stated"})
    result = make_rlm(root, judge, verify=True).run(context=TEXT, query=QUERY)
    assert "citation 1 is not in the data" in root.requests[2][-1]["content"]
    assert result.grounded is True and judge.calls == 1
    assert [c.valid for c in result.citations] == [True]


def test_not_found_is_a_successful_answer_that_is_not_judged() -> None:
    root = ScriptedLLM([repl("print(grep('north wing'))"), repl("FINAL(NOT_FOUND)")])
    judge = judge_by({})
    result = make_rlm(root, judge, verify=True).run(
        context=TEXT, query="What is the vault code for the north wing?")
    assert result.status == "success" and result.found is False
    assert result.answer == "The data does not say."
    assert result.grounded is None and judge.calls == 0


def test_verification_costs_count_in_the_run_usage_and_the_trace() -> None:
    root = ScriptedLLM([repl("hits = grep('east wing')\nprint(hits)"),
                        repl("FINAL('48213', cite=hits)")])
    judge = judge_by({"48213": "SUPPORTED: stated"})
    result = make_rlm(root, judge, verify=True).run(context=TEXT, query=QUERY)
    spans = [s for s in result.trace.spans() if s.attrs.get("purpose") == "verify"]
    assert len(spans) == 1 and spans[0].attrs["verdict"]["support"] == "supported"
    [asked] = judge.requests
    judge_tokens = messages_tokens(asked) + estimate_tokens("SUPPORTED: stated")
    cost = result.extra["verify"]
    assert cost["calls"] == 1 and cost["total_tokens"] == judge_tokens
    root_tokens = sum(messages_tokens(r) for r in root.requests) + sum(
        estimate_tokens(repl(c)) for c in ["hits = grep('east wing')\nprint(hits)",
                                           "FINAL('48213', cite=hits)"])
    assert result.usage.total_tokens == root_tokens + judge_tokens
    assert result.subcalls == 1


def test_verify_model_is_used_for_the_judge() -> None:
    with pytest.raises(ConfigError, match="verify_model"):
        RLMConfig(verify_model="")
    with pytest.raises(ConfigError, match="verify must be True or False"):
        RLMConfig(verify="yes")  # type: ignore[arg-type]
    root = ScriptedLLM([repl("hits = grep('east wing')\nprint(hits)"),
                        repl("FINAL('48213', cite=hits)")])
    sub = judge_by({})
    rlm = RLM(root, sub, RLMConfig(verify=True, verify_model="openai/judge", step_timeout_s=20),
              base_url="http://127.0.0.1:9", api_key="x")
    assert rlm._judge("openai/judge").name.endswith("judge")


@pytest.mark.parametrize(("reply", "support"), [
    ("SUPPORTED: yes", "supported"), ("Partly: only the year", "partly"),
    ("NOT: wrong key", "not"), ("**NOT** - a guess", "not"), ("I think so", "not"),
])
def test_verdicts_are_read_strictly(reply: str, support: str) -> None:
    assert parse_verdict(reply).support == support


def test_a_number_seen_nowhere_makes_any_models_answer_ungrounded() -> None:
    # The small-model guard's check is part of grounding: for a large model too, a typed
    # number that is in neither the data nor any output is caught, and under verify it gets
    # the one more chance (without a verifier call), like any unsupported answer.
    root = ScriptedLLM([repl("print(grep('north wing'))"), repl("FINAL('77310')")],
                       name="scripted/big-70b")
    result = make_rlm(root).run(context=TEXT, query="What is the north wing's code?")
    assert result.answer == "77310" and result.grounded is False
    assert result.verdict is not None and "77310" in result.verdict.reason
    root = ScriptedLLM([repl("print(grep('north wing'))"), repl("FINAL('77310')"),
                        repl("FINAL(NOT_FOUND)")], name="scripted/big-70b")
    judge = judge_by({})
    result = make_rlm(root, judge, verify=True).run(
        context=TEXT, query="What is the north wing's code?")
    assert "77310 appear(s) nowhere in the data" in root.requests[2][-1]["content"]
    assert "FINAL(NOT_FOUND)" in root.requests[2][-1]["content"]
    assert result.found is False and result.grounded is None and judge.calls == 0
