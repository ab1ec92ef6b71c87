"""A count over the text's items that never read them ("grep found 0, so FINAL(0)"): the host
labels the items with the sub model and shows the model the count (strategy `count_items`),
and the context's description names its repeated items from the first step."""

from __future__ import annotations

import json

from rlm_toolkit.engine import count_items, guards
from rlm_toolkit.engine.context import repeated_items
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

SMALL = "ollama/qwen2.5:1.5b"
BAD = (3, 7, 8, 12, 19)
REVIEWS = "\n\n".join(
    f"Review {i}: " + ("The soup was cold and the staff rude. Never again." if i in BAD
                       else "A lovely lunch, I will come back.")
    + "\nThe river ran past the town as it always had." for i in range(1, 21))
QUERY = "How many of the 20 reviews of the cafe are negative? Answer with a whole number only."


def labeller(messages: list[dict[str, str]]) -> str:
    """A sub model that labels a review by its words, answering classify's JSON schema."""
    text = messages[-1]["content"]
    return json.dumps({"label": "negative" if "Never again" in text else "positive"})


def told(llm: ScriptedLLM, call: int) -> str:
    """What the root model was told last before its `call`-th request (0-based)."""
    return str(llm.requests[call][-1]["content"])


def test_a_count_that_never_read_the_items_gets_the_hosts_labelled_count() -> None:
    root = ScriptedLLM([repl('print(len(grep("negative")))'), repl("FINAL(0)"),
                        repl('FINAL(labels.count("negative"))')], name=SMALL)
    sub = ScriptedLLM(labeller)
    result = make_rlm(root, sub).run(context=REVIEWS, query=QUERY)
    assert result.answer == "5" and result.status == "success"
    feedback = told(root, 2)
    assert "the text holds 20 items that start like 'Review N:'" in feedback
    assert "labels = classify(items, ['negative', 'positive'])" in feedback
    assert "20 items; 5 are negative" in feedback
    assert sub.calls == 20  # one label per review, by the sub model
    codes = [span.attrs.get("code", "") for span in result.trace.spans("code")]
    assert any("classify(items" in code for code in codes)  # the host's step is in the trace


def test_the_count_check_keeps_quiet_when_the_code_read_the_items_or_it_is_off() -> None:
    read = ScriptedLLM([repl('labels = classify(find_items(), ["negative", "positive"])\n'
                             'print(labels.count("negative"))'), repl("FINAL(5)")], name=SMALL)
    assert make_rlm(read, ScriptedLLM(labeller)).run(context=REVIEWS, query=QUERY).answer == "5"
    assert read.calls == 2
    off = ScriptedLLM([repl('print(len(grep("negative")))'), repl("FINAL(0)")], name=SMALL)
    result = make_rlm(off, ScriptedLLM(labeller), small_strategies=("unstuck",)).run(
        context=REVIEWS, query=QUERY)
    assert result.answer == "0" and off.calls == 2


def test_a_count_of_items_the_text_does_not_hold_is_not_questioned() -> None:
    root = ScriptedLLM([repl('print(len(grep("ticket")))'), repl("FINAL(0)")], name=SMALL)
    result = make_rlm(root).run(context=REVIEWS,
                                query="How many of the tickets are open? Answer with a number.")
    assert result.answer == "0" and root.calls == 2


def test_what_a_count_question_counts() -> None:
    assert count_items.count_target(QUERY) == "negative"
    assert count_items.count_target("How many of the tickets were resolved?") == "resolved"
    assert count_items.count_target("How many reviews are there?") is None
    assert count_items.count_target("Which town is it in?") is None
    assert count_items.labels_for("late") == ["late", "on time"]
    assert count_items.labels_for("not resolved") == ["not resolved", "resolved"]
    assert count_items.labels_for("rated five stars") == ["rated five stars", "not rated five stars"]


def test_a_number_is_never_sent_on_as_an_unlinked_hop() -> None:
    # a count's digits also start "Review 5:", which names no subject of the question
    assert guards.unlinked_answer("How many of the Old Mill reviews are good?", "5",
                                  "Review 5: fine.\nThe Old Mill stood by the river.") is None


def test_the_description_names_the_repeated_items() -> None:
    assert "20 repeated items like" in repeated_items(REVIEWS)
    assert "'Review N:'" in repeated_items(REVIEWS)
    assert "repeated items" not in repeated_items("One line.\nAnother line, unlike it.")
