"""The `unanswerable` task kind: the asked needle is absent, near misses are present, and a
method scores only when it abstains."""

from __future__ import annotations

import re

import pytest

from rlm_toolkit.bench.generate import GENERATORS, generate
from rlm_toolkit.bench.methods import parse_method, wants_verify
from rlm_toolkit.bench.scoring import score_answer


@pytest.mark.parametrize("seed", range(5))
def test_the_asked_key_is_absent_and_near_misses_share_a_word(seed: int) -> None:
    task = generate("unanswerable", 2048, seed)
    key = re.search(r"number for (\S+) mentioned", task.question)
    assert key is not None and key.group(1) == task.verify["key"]
    assert task.verify["key"] not in task.context
    adjective, noun = task.verify["key"].split("-")
    near = [m["key"] for m in task.verify["near_misses"]]
    assert sum(k.startswith(adjective + "-") for k in near) >= 2
    assert sum(k.endswith("-" + noun) for k in near) >= 2
    for miss in task.verify["near_misses"]:  # each distractor is really there, as recorded
        sentence = f"The special magic number for {miss['key']} is {miss['number']}."
        assert task.context[miss["offset"]:].startswith(sentence)
    assert task == generate("unanswerable", 2048, seed)  # seeded


def test_the_question_reads_exactly_like_an_answerable_one() -> None:
    absent, present = generate("unanswerable", 2048, 0), generate("sniah", 2048, 0)
    shape = re.compile(r"What is the special magic number for \S+ mentioned in the provided "
                       r"text\? Answer with the number only\.")
    assert shape.fullmatch(absent.question) and shape.fullmatch(present.question)


@pytest.mark.parametrize(("answer", "right"), [
    ("The data does not say.", True), ("NOT_FOUND", True),
    ("The text does not mention a number for that key.", True),
    ("I cannot find it in the text.", True),
    ("4821337", False),  # a near miss's number: a hallucination
    ("Not found, but lunar-beacon has 2043481", False),  # hedged with a number
    ("", False),
])
def test_abstaining_is_the_right_answer(answer: str, right: bool) -> None:
    task = generate("unanswerable", 2048, 1)
    assert score_answer(answer, task.answer_type, task.gold).score == (1.0 if right else 0.0)


def test_the_kind_and_the_verify_method_are_registered() -> None:
    assert "unanswerable" in GENERATORS
    assert parse_method("rlm1+verify") == ("rlm", 1) and wants_verify("rlm1+verify")
    assert not wants_verify("rlm1")
