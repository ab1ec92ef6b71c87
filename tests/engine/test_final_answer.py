"""Every way a model can give its final answer, and the ways that must not end a run."""

from __future__ import annotations

from rlm_toolkit.engine import prompts
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

DOC = "alpha\n" * 50 + "The capital of Zorbia is Quellport.\n" + "omega\n" * 50


def run(replies: list[str], **cfg: object):
    root = ScriptedLLM(replies)
    result = make_rlm(root, **cfg).run(context=DOC, query="What is the capital of Zorbia?")
    return result, root


def test_final_called_in_code_returns_value_after_code_ran() -> None:
    result, _ = run([repl("city = grep('capital')[0].split(' is ')[1].rstrip('.')\nFINAL(city)")])
    assert result.status == "success"
    assert result.answer == "Quellport"
    assert result.iterations == 1


def test_final_var_in_code_reads_variable_when_step_ends() -> None:
    result, _ = run([repl("FINAL_VAR('city')\ncity = 'Quell' + 'port'")])
    assert result.answer == "Quellport"


def test_answer_dict_ready() -> None:
    result, _ = run([repl("answer['content'] = context.split('is ')[1].split('.')[0]\nanswer['ready'] = True")])
    assert (result.status, result.answer) == ("success", "Quellport")


def test_answer_dict_not_ready_does_not_end_run() -> None:
    result, _root = run([
        repl("answer['content'] = 'draft'"),
        "FINAL(Quellport)",
    ])
    assert result.answer == "Quellport"
    assert result.iterations == 2


def test_text_final_after_code_was_seen() -> None:
    result, _ = run([repl("print(grep('capital'))"), 'FINAL("Quellport")'])
    assert (result.status, result.answer, result.iterations) == ("success", "Quellport", 2)


def test_text_final_var_resolves_repl_variable() -> None:
    result, _ = run([repl("city = 'Quellport'"), "The answer is stored.\nFINAL_VAR(city)"])
    assert result.answer == "Quellport"


def test_text_final_naming_a_variable_gives_its_value() -> None:
    result, _ = run([repl("city = 'Quellport'"), "FINAL(city)"])
    assert result.answer == "Quellport"


def test_final_mentioned_in_prose_does_not_end_run() -> None:
    result, root = run([
        repl("print(len(context))"),
        "My plan: grep for it, then I will call FINAL(answer) once I am sure.",
        "FINAL(Quellport)",
    ])
    assert result.iterations == 3
    assert result.answer == "Quellport"
    # the model was told it wrote no code and no final answer
    assert prompts.NO_CODE in root.requests[2][-2]["content"] + root.requests[2][-1]["content"]


def test_first_turn_answer_before_looking_is_refused_once() -> None:
    result, root = run(["FINAL(Paris)", repl("print(grep('capital'))"), "FINAL(Quellport)"])
    assert result.answer == "Quellport"
    assert prompts.FIRST_TURN_GUARD in root.requests[1][-1]["content"]


def test_first_turn_guard_refuses_only_once() -> None:
    result, _ = run(["FINAL(Paris)", "FINAL(Paris again)"])
    assert (result.status, result.answer) == ("success", "Paris again")


def test_text_final_in_same_reply_as_code_is_not_accepted_blindly() -> None:
    reply = repl("print(grep('capital'))") + "\nFINAL(Paris)"
    result, root = run([reply, "FINAL(Quellport)"])
    assert result.answer == "Quellport"
    assert prompts.EARLY_TEXT_FINAL in root.requests[1][-1]["content"]


def test_missing_final_var_is_reported_to_model() -> None:
    result, root = run([repl("FINAL_VAR('nope')"), repl("FINAL('Quellport')")])
    assert result.answer == "Quellport"
    assert prompts.missing_variable("nope") in root.requests[1][-1]["content"]


def test_python_and_bare_fences_and_unclosed_fence_run() -> None:
    result, _ = run([
        "```python\nx = 1\nprint('ran python')\n```",
        "```\ny = x + 1\nprint(y)\n```",
        "```repl\nFINAL(str(y) + ' Quellport')",
    ])
    assert result.answer == "2 Quellport"
