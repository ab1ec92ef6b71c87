"""Help for small models: the short prompt, forgiving parsing and the guards, seen from a run."""

from __future__ import annotations

from rlm_toolkit.engine import guards
from rlm_toolkit.engine.parsing import parse_reply
from rlm_toolkit.engine.prompts import SYSTEM_PROMPT
from rlm_toolkit.engine.prompts_small import SMALL_SYSTEM_PROMPT, is_small_model, model_size_b
from rlm_toolkit.providers.base import estimate_tokens
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

DOC = "\n".join(f"Line {i}: nothing to see here." for i in range(2000)) + \
    "\nThe vault code is 7731.\n"


def test_small_models_are_recognised_by_name() -> None:
    assert model_size_b("local/qwen2.5-coder-1.5b") == 1.5
    assert model_size_b("ollama/llama3.2:1b") == 1.0
    assert is_small_model("local/qwen2.5-coder-0.5b")
    assert is_small_model("ollama/qwen2.5:3b")
    assert not is_small_model("ollama/llama3:8b")
    assert not is_small_model("openai/gpt-4o-mini")
    assert not is_small_model("vllm/Qwen/Qwen2.5-72B-Instruct")


def test_short_prompt_is_short() -> None:
    assert estimate_tokens(SMALL_SYSTEM_PROMPT) <= 600
    assert estimate_tokens(SMALL_SYSTEM_PROMPT) < estimate_tokens(SYSTEM_PROMPT)


def test_small_model_gets_the_short_prompt_and_big_one_the_full() -> None:
    small = ScriptedLLM([repl('print(grep("vault"))'), repl('FINAL("7731")')],
                        name="ollama/qwen2.5:1.5b")
    make_rlm(small).run(context=DOC, query="What is the vault code?")
    assert small.requests[0][0]["content"] == SMALL_SYSTEM_PROMPT
    big = ScriptedLLM([repl('print(grep("vault"))'), repl('FINAL("7731")')],
                      name="openai/gpt-4o")
    make_rlm(big).run(context=DOC, query="What is the vault code?")
    assert big.requests[0][0]["content"] == SYSTEM_PROMPT


def test_code_without_a_fence_runs() -> None:
    llm = ScriptedLLM(['hits = grep("vault")\nprint(hits)', "FINAL(hits[0])"],
                      name="local/tiny-0.5b")
    result = make_rlm(llm).run(context=DOC, query="Which line names the vault?")
    assert result.status == "success"
    assert "The vault code is 7731." in result.answer
    assert parse_reply("The answer is simple.").code_blocks == []


def test_a_guessed_number_is_refused_once_then_the_evidence_wins() -> None:
    llm = ScriptedLLM([repl("print(len(context))"), repl('FINAL("4242")'),
                       repl('print(grep("vault"))'), repl('FINAL("7731")')],
                      name="local/qwen2.5-coder-1.5b")
    result = make_rlm(llm).run(context=DOC, query="What is the vault code?")
    assert result.answer == "7731" and result.status == "success"
    refusal = llm.requests[2][-1]["content"]
    assert "4242" in refusal and "no output you have seen" in refusal


def test_computed_numbers_are_not_mistaken_for_guesses() -> None:
    llm = ScriptedLLM([repl('n = context.count("nothing to see")\nFINAL(n)')], name="local/x-1b")
    result = make_rlm(llm).run(context=DOC, query="How many lines say Line?")
    assert result.answer == "2000" and result.iterations == 1


def test_guards_are_off_for_large_models() -> None:
    llm = ScriptedLLM([repl("print(len(context))"), repl('FINAL("4242")')],
                      name="openai/gpt-4o")
    result = make_rlm(llm).run(context=DOC, query="What is the vault code?")
    assert result.answer == "4242"


def test_repeated_code_is_pointed_out() -> None:
    same = repl('print(grep("chapters"))')
    llm = ScriptedLLM([same, same, repl('FINAL("none")')], name="local/x-1.5b")
    make_rlm(llm).run(context=DOC, query="How many chapters?")
    assert guards.REPEATED_CODE in llm.requests[2][-1]["content"]
    assert guards.REPEATED_CODE not in llm.requests[1][-1]["content"]


def test_copying_the_prompt_back_gets_a_nudge() -> None:
    copy = SMALL_SYSTEM_PROMPT.split("\n\n")[0] + "\n" + SMALL_SYSTEM_PROMPT.split("\n\n")[-1]
    llm = ScriptedLLM([copy, repl('print(grep("vault"))'), repl('FINAL("7731")')],
                      name="local/x-1.5b")
    result = make_rlm(llm).run(context=DOC, query="What is the vault code?")
    assert result.answer == "7731"
    assert guards.COPIED_PROMPT in llm.requests[1][-1]["content"]


def test_assigning_to_context_is_undone() -> None:
    llm = ScriptedLLM([repl('context = "gone"\nprint(len(context))'),
                       repl('print(grep("vault"))'), repl('FINAL("7731")')],
                      name="local/qwen2.5-coder-0.5b")
    result = make_rlm(llm).run(context=DOC, query="What is the vault code?")
    assert result.answer == "7731"
    assert "original was restored" in llm.requests[1][-1]["content"]


def test_number_helpers() -> None:
    assert guards.numbers("It cost 12,345 and took 7 days, about 3.5 hours") == ["12345", "3.5"]
    assert guards.unsupported_numbers("12345", "", ["total: 12,345"], "") == []
    assert guards.unsupported_numbers("99", "", ["total: 12"], "no") == ["99"]
    assert guards.copies_prompt("hello", "a prompt") is False
