"""Questions about the labels a text declares for its items (OOLONG-style): in small-model
mode the host labels every item with the sub model as the run's first step, filtered by what
the question names (a user ID, a date range), and the model answers from the counts
(strategy `label_items`)."""

from __future__ import annotations

import datetime as dt
import json
import re

from rlm_toolkit.engine import label_items
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

SMALL = "ollama/qwen2.5:1.5b"
LABELS = ["person", "place", "number"]
QUESTIONS = {"person": "Who wrote Hamlet?", "place": "Where is Lima?",
             "number": "How tall is Big Ben?"}
#: (date, user, label) of each record: person 5, place 4, number 3; user 111 has 2 places.
ROWS = [("Jan 03, 2023", "111", "place"), ("Feb 10, 2023", "222", "person"),
        ("Mar 15, 2023", "111", "place"), ("Apr 01, 2023", "333", "number"),
        ("May 20, 2023", "222", "person"), ("Jun 11, 2023", "333", "person"),
        ("Jul 04, 2023", "111", "number"), ("Aug 19, 2023", "222", "place"),
        ("Sep 09, 2023", "333", "person"), ("Oct 30, 2023", "222", "place"),
        ("Nov 02, 2023", "333", "number"), ("Dec 24, 2023", "222", "person")]
TEXT = ("The following lines contain 12 questions. Every instance belongs to exactly one of "
        "these labels: person, place, number. The labels are not written down.\n\n" +
        "\n".join(f"Date: {d} || User: {u} || Instance: {QUESTIONS[lab]}" for d, u, lab in ROWS))


def labeller(messages: list[dict[str, str]]) -> str:
    """A sub model that labels a question by its first word, answering classify's schema."""
    text = messages[-1]["content"]
    label = next(lab for lab, q in QUESTIONS.items() if q in text)
    return json.dumps({"label": label})


def first_prompt(llm: ScriptedLLM) -> str:
    return "\n".join(m["content"] for m in llm.requests[0])


def test_the_host_labels_every_item_before_the_model_answers() -> None:
    root = ScriptedLLM([repl("FINAL(5)")], name=SMALL)
    sub = ScriptedLLM(labeller)
    query = "How many of the instances should be classified with the label 'person'?"
    result = make_rlm(root, sub).run(context=TEXT, query=query)
    assert result.answer == "5" and result.status == "success"
    assert sub.calls == 12  # one label per record, by the sub model
    shown = first_prompt(root)
    assert "12 items of 12; labelled 12 (0 could not be labelled):\nperson: 5\nplace: 4\nnumber: 3\n" \
        "Most common: person. Least common: number.\nThe question names 'person': 5" in shown
    assert "labelled the items the question is about" in shown
    assert label_items.ANSWER_COUNT in shown  # which printed line answers this question
    host = [s for s in result.trace.spans("iteration") if s.attrs.get("host_step")]
    assert len(host) == 1 and host[0].name == "host step: label the items"
    codes = [s.attrs.get("code", "") for s in result.trace.spans("code")]
    assert any("classify([items[i] for i in sample], names" in code for code in codes)


def test_the_count_is_narrowed_to_the_user_and_the_dates_the_question_names() -> None:
    root = ScriptedLLM([repl("FINAL(2)")], name=SMALL)
    make_rlm(root, ScriptedLLM(labeller)).run(
        context=TEXT, query="For user 111, how many instances have the label 'place'?")
    assert "3 items with 111 of 12; labelled 3 (0" in first_prompt(root)
    assert "place: 2\nnumber: 1\nperson: 0" in first_prompt(root)
    dated = ScriptedLLM([repl("FINAL(1)")], name=SMALL)
    make_rlm(dated, ScriptedLLM(labeller)).run(
        context=TEXT, query="Among the instances dated from Mar 01, 2023 to Jun 30, 2023 (both "
                            "days included), how many have the label 'number'?")
    shown = first_prompt(dated)
    assert "4 items dated 2023-03-01 to 2023-06-30 of 12; labelled 4" in shown
    assert "person: 2\nplace: 1\nnumber: 1\nMost common: person. Least common: place and number." \
        "\nThe question names 'number': 1" in shown


def test_a_comparison_of_two_labels_is_spelled_out() -> None:
    root = ScriptedLLM([repl('FINAL("more common than")')], name=SMALL)
    make_rlm(root, ScriptedLLM(labeller)).run(
        context=TEXT, query="Is the label 'number' more common than, less common than, or the "
                            "same frequency as the label 'person'?")
    shown = first_prompt(root)
    assert "The question names 'number': 3\nThe question names 'person': 5\n" \
        "So 'number' is less common than 'person'." in shown
    assert label_items.ANSWER_COMPARE in shown


def test_not_found_after_the_counts_is_sent_back_once_with_them() -> None:
    root = ScriptedLLM([repl("FINAL(NOT_FOUND)"), repl("FINAL(NOT_FOUND)")], name=SMALL)
    result = make_rlm(root, ScriptedLLM(labeller)).run(
        context=TEXT, query="Which label is the least common among the instances?")
    told = root.requests[1][-1]["content"]
    assert "NOT_FOUND is not the answer" in told
    assert "Most common: person. Least common: number." in told
    assert result.found is False and len(root.requests) == 2  # told once, then accepted


def test_the_label_the_counts_name_is_taken_without_a_missing_subject_check() -> None:
    root = ScriptedLLM([repl('FINAL("number")')], name=SMALL)
    result = make_rlm(root, ScriptedLLM(labeller)).run(
        context=TEXT, query="Which label is the least common among the instances above?")
    assert result.answer == "number" and len(root.requests) == 1


def test_past_the_sub_call_budget_a_sample_is_labelled_and_the_counts_are_estimates() -> None:
    root = ScriptedLLM([repl("FINAL(5)")], name=SMALL)
    sub = ScriptedLLM(labeller)
    make_rlm(root, sub, max_subcalls=label_items.SUBCALLS_FOR_MODEL + 6).run(
        context=TEXT, query="Which label is the most common?")
    assert sub.calls == 6  # the budget's room, the rest left to the model
    shown = first_prompt(root)
    assert "12 items of 12; labelled 6 (0 could not be labelled):" in shown
    assert "answer with the label's name from the line 'Most common: ...'" in shown
    estimates = re.findall(r"(\w+): about (\d+) \(estimated from (\d+) in the sample\)", shown)
    assert len(estimates) == 3
    assert all(int(about) == round(int(n) * 2) for _, about, n in estimates)
    assert sum(int(n) for _, _, n in estimates) == 6


def test_no_host_step_without_declared_labels_a_label_question_or_the_strategy() -> None:
    for text, query, strategies in (
        (TEXT, "Who wrote Hamlet?", None),  # not about the labels
        (TEXT.replace("Every instance belongs to exactly one of these labels: person, place, "
                      "number.", ""), "Which label is the most common?", None),
        (TEXT, "Which label is the most common?", ("unstuck",)),
    ):
        root = ScriptedLLM(lambda messages: repl("print(len(context))"), name=SMALL)
        sub = ScriptedLLM(labeller)
        kwargs = {} if strategies is None else {"small_strategies": strategies}
        make_rlm(root, sub, max_iterations=2, **kwargs).run(context=text, query=query)
        assert sub.calls == 0
        assert "labelled the items" not in first_prompt(root)


def test_what_a_text_declares_and_a_question_names() -> None:
    assert label_items.declared_labels(TEXT) == (
        LABELS, "Every instance belongs to exactly one of these labels: person, place, number.")
    assert label_items.declared_labels("Categories: 'bug', 'feature' and 'question'.\n")[0] == \
        ["bug", "feature", "question"]
    assert label_items.declared_labels("No labels here at all.") is None
    window = label_items.date_range("from 2023-05-01 to 2023-02-01, both included")
    assert window is not None and window[:2] == (dt.date(2023, 2, 1), dt.date(2023, 5, 1))
    assert label_items.date_range("on Jan 03, 2023 only") is None
    assert label_items.id_filters("For user 111 since Jan 03, 2023", TEXT, LABELS) == ["111"]
    assert label_items.id_filters("For user 999", TEXT, LABELS) == []
