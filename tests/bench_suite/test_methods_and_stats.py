"""The baselines (direct, map-reduce) on scripted models, and the summary statistics."""

from __future__ import annotations

import re

import pytest

from rlm_toolkit.bench import generate
from rlm_toolkit.bench.methods import (
    DirectMethod,
    MapReduceMethod,
    chunk_text,
    cut_middle,
    parse_method,
)
from rlm_toolkit.bench.stats import bootstrap_ci, markdown_table, summarize
from rlm_toolkit.errors import ConfigError, ContextTooLong
from rlm_toolkit.providers.base import Message, messages_tokens
from rlm_toolkit.testing import ScriptedLLM

# --- direct ------------------------------------------------------------------------------


async def test_direct_sends_the_whole_text_when_it_fits() -> None:
    task = generate("sniah", 2048, 0)
    llm = ScriptedLLM([task.gold], context_window=16_000)
    out = await DirectMethod(llm).run(task)
    assert out.answer == task.gold
    assert task.context in llm.prompt_texts()[0]
    assert task.question in llm.prompt_texts()[0]
    assert out.extra["truncated"] is False
    assert out.input_tokens > 2048 and out.output_tokens > 0
    assert out.cost == 0.0


async def test_direct_cuts_the_middle_to_fit_the_window() -> None:
    task = generate("sniah", 16_384, 0)
    llm = ScriptedLLM(["1"], context_window=8_192)
    out = await DirectMethod(llm).run(task)
    prompt = llm.requests[0]
    assert out.extra["truncated"] is True
    assert messages_tokens(prompt) <= 8_192
    text = llm.prompt_texts()[0]
    assert "characters cut to fit the window" in text
    assert task.context[:1000] in text and task.context[-1000:] in text


async def test_direct_window_flag_overrides_the_provider() -> None:
    task = generate("sniah", 8192, 0)
    llm = ScriptedLLM(["1"], context_window=1_000_000)
    await DirectMethod(llm, window=4096).run(task)
    assert messages_tokens(llm.requests[0]) <= 4096


async def test_direct_cuts_again_when_the_model_counts_more_tokens() -> None:
    """Dense text (numbers, IDs) has more tokens than 4 characters each: the provider's own
    count decides the second cut, and the answer still comes back."""
    task = generate("oolong", 16_384, 0)
    window = 8192

    def dense(messages: list[Message]) -> str | Exception:
        tokens = sum(len(m["content"]) for m in messages) // 2  # 2 characters a token
        if tokens > window:
            return ContextTooLong("too long", prompt_tokens=tokens, window=window)
        return "entity"

    llm = ScriptedLLM(dense, context_window=window)
    out = await DirectMethod(llm).run(task)
    assert out.answer == "entity"
    assert llm.calls == 2
    assert sum(len(m["content"]) for m in llm.requests[1]) // 2 <= window
    assert out.extra["truncated"] is True


async def test_direct_says_so_when_no_cut_fits() -> None:
    task = generate("sniah", 8192, 0)
    llm = ScriptedLLM(lambda m: ContextTooLong("too long", prompt_tokens=10**6, window=4096),
                      context_window=4096)
    with pytest.raises(ConfigError, match="does not fit a window of 4096 tokens"):
        await DirectMethod(llm).run(task)


def test_direct_rejects_a_window_too_small() -> None:
    with pytest.raises(ConfigError, match="--window"):
        DirectMethod(ScriptedLLM([]), window=1000)


def test_cut_middle_keeps_both_ends_and_the_limit() -> None:
    text = "".join(str(i % 10) for i in range(10_000))
    cut, was_cut = cut_middle(text, 2_000)
    assert was_cut and len(cut) <= 2_000
    assert cut.startswith(text[:500]) and cut.endswith(text[-500:])
    assert cut_middle("short", 100) == ("short", False)


# --- map-reduce --------------------------------------------------------------------------


def test_chunks_cover_the_text_exactly() -> None:
    text = generate("oolong", 4096, 0).context
    chunks = chunk_text(text, 3000)
    assert "".join(chunks) == text
    assert all(len(c) <= 3000 for c in chunks)
    assert all(c.endswith("\n") for c in chunks[:-1])


async def test_mapreduce_reads_every_chunk_and_answers_from_the_notes() -> None:
    task = generate("sniah", 8192, 4)
    key = task.verify["key"]

    def sub(messages: list) -> str:
        part = re.search(r"<part>\n(.*)\n</part>", messages[-1]["content"], re.S).group(1)  # type: ignore[union-attr]
        found = re.findall(rf"magic number for {key} is (\d+)", part)
        return f"The number for {key} is {found[0]}." if found else "NONE"

    def root(messages: list) -> str:
        notes = messages[-1]["content"]
        return re.search(rf"number for {key} is (\d+)", notes).group(1)  # type: ignore[union-attr]

    sub_llm, root_llm = ScriptedLLM(sub), ScriptedLLM(root)
    out = await MapReduceMethod(root_llm, sub_llm, chunk_tokens=1024).run(task)
    assert out.answer == task.gold
    assert out.subcalls == out.extra["chunks"] == sub_llm.calls >= 8
    assert root_llm.calls == 1
    assert "NONE" not in root_llm.prompt_texts()[0]


async def test_mapreduce_merges_notes_that_do_not_fit_the_root() -> None:
    task = generate("sniah", 8192, 1)
    sub_llm = ScriptedLLM(lambda m: "merged" if "Merge these notes" in m[-1]["content"]
                          else "x" * 3000)
    root_llm = ScriptedLLM(["42"], context_window=4096)
    out = await MapReduceMethod(root_llm, sub_llm, chunk_tokens=1024, window=4096).run(task)
    assert out.extra["merge_rounds"] >= 1
    assert out.subcalls > out.extra["chunks"]
    assert messages_tokens(root_llm.requests[0]) <= 4096


def test_unknown_cost_stays_unknown() -> None:
    from rlm_toolkit.bench.methods import MethodOutput
    from rlm_toolkit.providers.base import Completion

    out = MethodOutput(answer="")
    out.add(Completion("a", cost=0.5))
    assert out.cost == 0.5
    out.add(Completion("b", cost=None))
    out.add(Completion("c", cost=0.5))
    assert out.cost is None


def test_method_names() -> None:
    assert parse_method("rlm0") == ("rlm", 0)
    assert parse_method("RLM-2") == ("rlm", 2)
    assert parse_method("direct") == ("direct", None)
    assert parse_method("mapreduce") == ("mapreduce", None)
    with pytest.raises(ConfigError, match="rlm0, rlm1"):
        parse_method("rag")


# --- statistics --------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 1.0, 0.0, 1.0, 1.0]
    a, b = bootstrap_ci(values, seed=3), bootstrap_ci(values, seed=3)
    assert a == b
    mean = sum(values) / len(values)
    assert a[0] < mean < a[1]
    assert a[0] >= 0.0 and a[1] <= 1.0
    spread = [i / 37 % 1 for i in range(40)]
    assert bootstrap_ci(spread, seed=4) != bootstrap_ci(spread, seed=5)


def test_bootstrap_width_matches_the_normal_approximation() -> None:
    values = [(i * 7919) % 101 / 100 for i in range(200)]
    n = len(values)
    mean = sum(values) / n
    sd = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5
    lo, hi = bootstrap_ci(values, seed=0)
    assert (hi - lo) == pytest.approx(2 * 1.96 * sd / n ** 0.5, rel=0.15)
    assert (lo + hi) / 2 == pytest.approx(mean, abs=0.02)


def test_bootstrap_edge_cases() -> None:
    assert bootstrap_ci([0.7]) == (0.7, 0.7)
    assert bootstrap_ci([1.0] * 5) == (1.0, 1.0)
    lo, hi = bootstrap_ci([])
    assert lo != lo and hi != hi  # NaN: no data, no interval


def _rec(kind: str, method: str, tokens: int, score: float, cost: float | None = 0.01) -> dict:
    return {"kind": kind, "method": method, "tokens": tokens, "score": score, "cost": cost,
            "total_tokens": 100, "wall_s": 2.0, "status": "ok"}


def test_summary_groups_by_kind_method_and_size() -> None:
    recs = [_rec("sniah", "rlm1", 8192, s) for s in (1, 1, 0)] + \
           [_rec("sniah", "direct", 8192, 1.0), _rec("oolong", "rlm1", 8192, 0.5, cost=None)]
    rows = summarize(recs)
    by = {(r.kind, r.method, r.tokens): r for r in rows}
    assert by["sniah", "rlm1", 8192].n == 3
    assert by["sniah", "rlm1", 8192].mean == pytest.approx(2 / 3)
    assert by["sniah", "rlm1", 8192].cost == pytest.approx(0.03)
    assert by["oolong", "rlm1", 8192].cost is None
    assert by["all", "rlm1", 8192].n == 4
    assert by["all", "rlm1", 8192].cost is None
    table = markdown_table(rows)
    assert table.count("\n") == len(rows) + 2
    assert "| sniah | 8,192 | rlm1 | 3 | 0.667 [" in table
    assert "unknown" in table


def test_summary_of_one_kind_has_no_all_rows() -> None:
    rows = summarize([_rec("pairs", "direct", 4096, 0.2), _rec("pairs", "direct", 8192, 0.1)])
    assert [r.kind for r in rows] == ["pairs", "pairs"]
    assert [r.tokens for r in rows] == [4096, 8192]


def test_plot_is_skipped_with_a_note_without_matplotlib(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    from rlm_toolkit.bench.plot import MISSING_HINT
    from rlm_toolkit.bench.runner import write_reports

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now raises ImportError
    _, notes = write_reports([_rec("sniah", "direct", 4096, 1.0)], tmp_path)
    assert MISSING_HINT in notes
    assert not (tmp_path / "plot.png").exists()
    assert (tmp_path / "summary.md").exists()


async def test_direct_fits_fewer_characters_for_dense_tokenizers() -> None:
    task = generate("oolong", 16_384, 0)
    wide, dense = ScriptedLLM(["1"]), ScriptedLLM(["1"])
    await DirectMethod(wide, window=8192).run(task)
    await DirectMethod(dense, window=8192, chars_per_token=3.0).run(task)
    sent = [len(x.prompt_texts()[0]) for x in (wide, dense)]
    assert sent[1] < sent[0] * 0.8
    assert sent[1] <= (8192 - 2048) * 3.0 + 2000
