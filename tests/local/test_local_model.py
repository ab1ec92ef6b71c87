"""End to end on the real embedded models (llama.cpp in-process; no server, no key)."""

from __future__ import annotations

import asyncio

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.errors import ProviderError
from rlm_toolkit.providers.base import CompletionOptions, Message

from .conftest import haystack

pytestmark = pytest.mark.local_model

SYSTEM: Message = {"role": "system", "content": "You are a terse assistant. " * 20}


def ask(provider: object, messages: list[Message], **options: object) -> object:
    return asyncio.run(provider.complete(messages, CompletionOptions(**options)))  # type: ignore[attr-defined]


def test_a_completion_has_text_usage_and_no_cost(tiny: object) -> None:
    done = ask(tiny, [SYSTEM, {"role": "user", "content": "What is 2+2? Answer with a number."}],
               max_tokens=16)
    assert "4" in done.text  # type: ignore[attr-defined]
    assert done.usage.input_tokens > 100 and 0 < done.usage.output_tokens <= 16  # type: ignore[attr-defined]
    assert done.cost == 0.0 and done.model == "local/qwen2.5-coder-0.5b"  # type: ignore[attr-defined]


def test_a_later_turn_reuses_the_cached_prefix(tiny: object) -> None:
    first = [SYSTEM, {"role": "user", "content": "Name a colour."}]
    reply = ask(tiny, first, max_tokens=8)
    follow = [*first, {"role": "assistant", "content": reply.text},  # type: ignore[attr-defined]
              {"role": "user", "content": "Name another."}]
    again = ask(tiny, follow, max_tokens=8)
    assert again.usage.cached_tokens >= first_tokens(reply)  # type: ignore[attr-defined]


def first_tokens(reply: object) -> int:
    """Tokens of the first prompt: the follow-up must reuse at least all of them but one."""
    return int(reply.usage.input_tokens) - 1  # type: ignore[attr-defined]


def test_a_sub_call_does_not_evict_the_root_conversation(tiny: object) -> None:
    root = [SYSTEM, {"role": "user", "content": "Say yes."}]
    ask(tiny, root, max_tokens=4)
    ask(tiny, [{"role": "user", "content": "Unrelated: say no. " * 30}], max_tokens=4)
    again = ask(tiny, [*root, {"role": "assistant", "content": "yes"},
                       {"role": "user", "content": "Again."}], max_tokens=4)
    assert again.usage.cached_tokens > 100  # type: ignore[attr-defined]


def test_streaming_sends_the_same_text(tiny: object) -> None:
    pieces: list[str] = []
    done = ask(tiny, [{"role": "user", "content": "Count from 1 to 5."}], max_tokens=24,
               on_token=pieces.append)
    assert pieces and "".join(pieces) == done.text  # type: ignore[attr-defined]


def test_a_prompt_too_big_for_the_window_says_what_to_do(tiny: object) -> None:
    with pytest.raises(ProviderError, match="does not fit the local model's window"):
        ask(tiny, [{"role": "user", "content": "word " * 6000}])


def test_rlm_plumbing_on_the_small_model(tiny: object) -> None:
    text = haystack(20_000, "The harbor master is called Ilse Varga.")
    result = RLM(tiny, config=RLMConfig(max_iterations=3)).run(
        context=text, query="What is the harbor master called?")
    assert result.status in ("success", "max_iterations")
    assert result.iterations >= 1 and result.usage.input_tokens > 0
    root_calls = result.trace.spans("root_llm")
    assert root_calls and all(s.attrs.get("usage") for s in root_calls)
    first_prompt = result.trace.iterations()[0].attrs["prompt"]
    assert text[:5_000] not in str(first_prompt)  # the document never enters the prompt


def test_the_default_model_finds_a_needle_in_200k_characters(coder: object) -> None:
    text = haystack(200_000, "The secret code for the vault is 4817-ZETA.")
    result = RLM(coder, config=RLMConfig(max_iterations=8)).run(
        context=text, query="What is the secret code for the vault?")
    assert "4817-ZETA" in result.answer, result.trace.to_dict()
    assert result.status == "success"


def test_the_readme_demo_answers(coder: object, capsys: pytest.CaptureFixture[str]) -> None:
    """What `bash scripts/demo.sh` runs after setup, through the CLI, as the README shows."""
    from pathlib import Path

    from rlm_toolkit.cli.main import main

    book = Path(__file__).resolve().parents[2] / "examples" / "data" / "pride_and_prejudice.txt"
    code = main(["run", "--model", "local/qwen2.5-coder-1.5b", "--context", str(book),
                 "--query", "Who is Mr. Collins's patroness?", "--max-iterations", "10"])
    out = capsys.readouterr().out
    assert code == 0 and "Lady Catherine de Bourgh" in out


def test_a_timed_out_call_stops_and_the_next_one_answers(tiny: object) -> None:
    with pytest.raises(ProviderError, match="timed out"):
        ask(tiny, [{"role": "user", "content": "Write a long story about a river."}],
            max_tokens=2000, timeout_s=0.5)
    done = ask(tiny, [{"role": "user", "content": "What is 5+5? Answer with a number."}],
               max_tokens=8)
    assert "10" in done.text  # type: ignore[attr-defined]


def test_the_default_model_counts_reviews_by_reading_each_one(coder: object) -> None:
    """"How many of the reviews are negative?": alone the 1.5B model answered 0 after a
    keyword search found nothing; the count check has the sub model label every review."""
    from rlm_toolkit.bench.generate import generate

    task = generate("aggregation", 4096, 2)
    result = RLM(coder, config=RLMConfig(max_iterations=8)).run(context=task.context,
                                                               query=task.question)
    codes = [span.attrs.get("code", "") for span in result.trace.spans("code")]
    assert any("classify(" in code for code in codes), codes
    assert result.answer.strip().isdigit(), result.answer
    assert abs(int(result.answer) - int(task.gold)) <= 1, (result.answer, task.gold)


def test_the_default_model_answers_a_label_question_from_the_hosts_table(coder: object) -> None:
    """An OOLONG-style question for one user: the host labels that user's records (and only
    those) with the sub model first, and the 1.5B model answers with a count from the table."""
    from rlm_toolkit.bench.oolong import generate_oolong

    task = generate_oolong(2048, 0, "user_count")
    user = task.verify["question"]["user"]
    mine = sum(1 for r in task.verify["records"] if r["user"] == user)
    result = RLM(coder, config=RLMConfig(max_iterations=4)).run(context=task.context,
                                                               query=task.question)
    host = [s for s in result.trace.spans("iteration") if s.attrs.get("host_step")]
    assert len(host) == 1, [s.name for s in result.trace.spans("iteration")]
    first = "\n".join(m["content"] for m in result.trace.spans("iteration")[1].attrs["prompt"])
    assert f"{mine} items with {user} of " in first and f"labelled {mine} (" in first, first
    assert result.subcalls == mine
    assert result.answer.strip().isdigit() and int(result.answer) <= mine, result.answer
