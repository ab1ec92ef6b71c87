"""Scorers on their edge cases: number formats, label wording, pair order, empty answers."""

from __future__ import annotations

import pytest

from rlm_toolkit.bench.instances import LABELS
from rlm_toolkit.bench.oolong import COMPARISONS
from rlm_toolkit.bench.scoring import parse_number, parse_pairs, score_answer

# --- numbers (OOLONG: 0.75 ** |gold - answer|) -------------------------------------------


@pytest.mark.parametrize("answer", [
    "1234", "1,234", "1234.0", "Answer: 1234", "There are 1,234 such instances.",
    "**1234**", "about 1234 records", "Final answer: 1234", "1234.",
])
def test_number_formats_all_read_as_the_same_value(answer: str) -> None:
    assert score_answer(answer, "number", 1234).score == 1.0


def test_number_score_decays_with_distance() -> None:
    assert score_answer("10", "number", 12).score == pytest.approx(0.75 ** 2)
    assert score_answer("15", "number", 12).score == pytest.approx(0.75 ** 3)
    assert score_answer("12.5", "number", 12).score == pytest.approx(0.75 ** 0.5)


def test_number_after_the_answer_mark_wins_over_earlier_numbers() -> None:
    assert score_answer("For user 48213 I counted.\nAnswer: 7", "number", 7).score == 1.0


def test_number_words_and_missing_numbers() -> None:
    assert parse_number("twelve") == 12.0
    assert score_answer("zero", "number", 0).score == 1.0
    assert score_answer("I could not tell", "number", 3).score == 0.0
    assert score_answer("", "number", 0).score == 0.0
    assert score_answer(None, "number", 0).score == 0.0


def test_a_number_inside_a_word_is_not_read() -> None:
    assert parse_number("user_12 has 4") == 4.0


# --- needles (S-NIAH) --------------------------------------------------------------------


@pytest.mark.parametrize("answer", [
    "4209540", "The special magic number is 4209540.", "4,209,540", "Answer: 4 209 540",
])
def test_needle_found(answer: str) -> None:
    assert score_answer(answer, "needle", "4209540").score == 1.0


@pytest.mark.parametrize("answer", ["", "420954", "42095401", "7777777", "no number found"])
def test_needle_missing_or_wrong(answer: str) -> None:
    assert score_answer(answer, "needle", "4209540").score == 0.0


# --- choices (labels, comparisons, multi-hop) --------------------------------------------


@pytest.mark.parametrize("answer", [
    "location", "Location", "'location'", "Answer: location", "The most common label is location.",
    "**Location**",
])
def test_label_answers_after_normalising(answer: str) -> None:
    assert score_answer(answer, "choice", "location", choices=list(LABELS)).score == 1.0


def test_label_short_forms_and_wrong_labels() -> None:
    choices = list(LABELS)
    assert score_answer("human", "choice", "human being", choices=choices).score == 1.0
    assert score_answer("numeric", "choice", "numeric value", choices=choices).score == 1.0
    assert score_answer("entity", "choice", "human being", choices=choices).score == 0.0
    # Naming two labels is hedging, not an answer.
    assert score_answer("location or entity", "choice", "location", choices=choices).score == 0.0
    assert score_answer("", "choice", "location", choices=choices).score == 0.0


def test_comparison_answers() -> None:
    choices = list(COMPARISONS)
    assert score_answer("more common than", "choice", "more common than", choices=choices).score == 1.0
    assert score_answer("It is more common.", "choice", "more common than", choices=choices).score == 1.0
    assert score_answer("same frequency as", "choice", "less common than", choices=choices).score == 0.0


def test_city_answers() -> None:
    cities = ["Belmora", "Corvanel", "Wickarfen"]
    assert score_answer("Wickarfen", "choice", "Wickarfen", choices=cities).score == 1.0
    assert score_answer("It is kept in Wickarfen.", "choice", "Wickarfen", choices=cities).score == 1.0
    assert score_answer("Belmora", "choice", "Wickarfen", choices=cities).score == 0.0
    assert score_answer("Wickarfenx", "choice", "Wickarfen", choices=cities).score == 0.0


# --- pairs (OOLONG-Pairs F1) -------------------------------------------------------------

GOLD = [["10001", "10002"], ["10001", "10003"], ["10002", "10003"]]


def test_symmetric_pairs_ignore_order_inside_a_pair() -> None:
    answer = "(10002, 10001)\n(10001, 10003)\n(10003, 10002)"
    s = score_answer(answer, "pairs", GOLD, symmetric=True)
    assert s.score == 1.0
    assert s.details["precision"] == 1.0 and s.details["recall"] == 1.0


def test_asymmetric_pairs_keep_their_order() -> None:
    gold = [["10001", "10002"]]
    assert score_answer("(10001, 10002)", "pairs", gold, symmetric=False).score == 1.0
    assert score_answer("(10002, 10001)", "pairs", gold, symmetric=False).score == 0.0


def test_precision_recall_and_f1() -> None:
    answer = "(10001, 10002)\n(10001, 10004)"
    s = score_answer(answer, "pairs", GOLD, symmetric=True)
    assert s.details["precision"] == pytest.approx(0.5)
    assert s.details["recall"] == pytest.approx(1 / 3)
    assert s.score == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))


def test_duplicate_pairs_count_once() -> None:
    s = score_answer("(10001, 10002)\n(10002, 10001)\n(10001, 10002)", "pairs", GOLD)
    assert s.details["predicted"] == 1
    assert s.details["precision"] == 1.0


def test_pair_formats() -> None:
    pairs = parse_pairs("Pairs: ('10001', '10002'), [10003,10004]\n(10005 , 10006)", True)
    assert pairs == {("10001", "10002"), ("10003", "10004"), ("10005", "10006")}
    # Numeric IDs are ordered as numbers, not as strings.
    assert parse_pairs("(900, 1000)", True) == {("900", "1000")}
    assert parse_pairs("(1000, 900)", True) == {("900", "1000")}


@pytest.mark.parametrize("answer", ["no pairs", "No pairs qualify.", "None", "[]",
                                    "There are no such pairs."])
def test_explicit_no_pairs_is_right_only_when_gold_is_empty(answer: str) -> None:
    assert score_answer(answer, "pairs", [], symmetric=True).score == 1.0
    assert score_answer(answer, "pairs", GOLD, symmetric=True).score == 0.0


def test_empty_answers_never_score() -> None:
    assert score_answer("", "pairs", [], symmetric=True).score == 0.0
    assert score_answer("   \n", "pairs", GOLD, symmetric=True).score == 0.0
    assert score_answer(None, "pairs", [], symmetric=True).score == 0.0
    assert score_answer("I am not sure", "pairs", [], symmetric=True).score == 0.0


def test_pairs_when_gold_is_empty_but_pairs_are_listed() -> None:
    assert score_answer("(10001, 10002)", "pairs", [], symmetric=True).score == 0.0


def test_unknown_answer_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown answer type"):
        score_answer("x", "essay", "x")
