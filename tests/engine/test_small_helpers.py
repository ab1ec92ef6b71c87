"""The REPL helpers for many items: the repeated-items finder, llm_map and classify."""

from __future__ import annotations

import json

from rlm_toolkit.providers.base import Message
from rlm_toolkit.sandbox.worker.helpers import find_items, item_patterns
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

REVIEWS = "A short preface about the shop.\n\n" + "\n".join(
    f"Review {i}: the kettle {'broke after a week' if i % 4 == 0 else 'works well'}.\n"
    "Bought in spring."
    for i in range(1, 41)
) + "\n\nThe end of the file."


def test_repeated_items_are_found_without_a_regex() -> None:
    patterns = item_patterns(REVIEWS)
    assert patterns[0].label == "Review N:" and patterns[0].count == 40
    items = find_items(_default=REVIEWS)  # the context, as the REPL calls it
    assert len(items) == 40
    assert items[3] == "Review 4: the kettle broke after a week.\nBought in spring."
    assert REVIEWS[items[3].start:items[3].end] == str(items[3])
    assert items[3].line == 9
    assert find_items(REVIEWS)[3].start is None  # some other text: no place in the context


def test_tickets_and_log_lines_are_items_too() -> None:
    tickets = "\n".join(f"Ticket #{i} - printer {i} jammed" for i in range(1, 6))
    assert item_patterns(tickets)[0].count == 5
    assert len(find_items(tickets)) == 5
    log = "\n".join(f"2024-03-0{i % 9 + 1} 10:00:{i:02d} ERROR disk {i}" for i in range(12))
    assert item_patterns(log)[0].count == 12
    assert [str(x) for x in find_items(log)][:1] == ["2024-03-01 10:00:00 ERROR disk 0"]
    records = "Header line.\n" + "\n".join(
        f"Date: May {i:02d}, 2023 || User: {i} || Instance: question {i}?" for i in range(1, 9))
    assert str(item_patterns(records)[0]).startswith("8 lines like 'Date: ...'")
    assert len(find_items(records)) == 8
    assert item_patterns("just prose\nwith no items\n") == []


def _labeller(messages: list[Message]) -> str:
    """A sub model that labels a review, and never answers in JSON for review 7."""
    prompt = " ".join(str(m["content"]) for m in messages)  # a retry holds the first ask
    if "Review 7:" in prompt:
        return "I would rather not say."
    return json.dumps({"label": "negative" if "broke" in str(messages[-1]["content"]) else "positive"})


def test_classify_counts_items_and_reports_failed_ones() -> None:
    root = ScriptedLLM([
        repl('items = find_items()\nlabels = classify(items, ["positive", "negative"], '
             'batch=8)\nprint(len(items), labels.count("negative"), labels.failed)'),
        repl('FINAL(labels.count("negative"))'),
    ], name="ollama/qwen2.5:1.5b")
    sub = ScriptedLLM(_labeller)
    result = make_rlm(root, sub).run(context=REVIEWS, query="How many reviews are negative?")
    assert result.answer == "10"
    shown = str(root.requests[1][-1]["content"])
    assert "40 10 {6: " in shown and "did not match the schema" in shown
    schemas = [o.json_schema for o in sub.options]
    assert schemas and all(s is not None for s in schemas)
    label = schemas[0]["properties"]["label"]  # type: ignore[index]
    assert label["enum"] == ["positive", "negative"]
    # each item went to the sub model on its own (review 7 asked twice: the retry)
    assert len(sub.requests) == 41


def test_llm_map_returns_one_answer_per_item_in_order() -> None:
    def echo(messages: list[Message]) -> str:
        prompt = str(messages[-1]["content"])
        return prompt.split("Review ")[1].split(":")[0]

    root = ScriptedLLM([
        repl('out = llm_map(find_items()[:5], "Which review number is this?", batch=2)\n'
             'print(list(out), out.failed)'),
        repl('FINAL("done")'),
    ], name="ollama/qwen2.5:1.5b")
    make_rlm(root, ScriptedLLM(echo)).run(context=REVIEWS, query="List the reviews")
    assert "['1', '2', '3', '4', '5'] {}" in str(root.requests[1][-1]["content"])


def test_helpers_refuse_one_text_instead_of_items() -> None:
    root = ScriptedLLM([
        repl('try:\n    classify("one text", ["a", "b"])\nexcept TypeError as e:\n    print(e)'),
        repl('FINAL("x")'),
    ], name="ollama/qwen2.5:1.5b")
    make_rlm(root, ScriptedLLM(["unused"])).run(context=REVIEWS, query="Which review?")
    assert "needs a list of items" in str(root.requests[1][-1]["content"])
