"""Scorers, as in the published tasks.

- needle (S-NIAH, RULER): 1 when the gold number appears in the answer (digit groups such as
  "4,209,540" are joined first), else 0.
- number (OOLONG): 0.75 ** |gold - answer| on the first number of the answer (after the last
  "Answer:" when there is one); 0 when the answer holds no number.
- choice (OOLONG labels and comparisons, multi-hop): exact match after normalising; an answer
  that names exactly one of the allowed choices counts as that choice.
- pairs (OOLONG-Pairs): F1 over the set of (id1, id2) pairs, with precision and recall.
  Symmetric tasks ignore the order inside a pair. An explicit "no pairs" is correct when the
  gold is empty; an empty answer never scores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NUMBER_WORDS = {
    w: i for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
    )
}
NUMBER_RE = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
ANSWER_MARK = re.compile(r"(?:final\s+)?answer\s*(?:is)?\s*[:=]", re.IGNORECASE)
PAIR_RE = re.compile(
    r"[(\[]\s*['\"]?([A-Za-z0-9_-]+)['\"]?\s*,\s*['\"]?([A-Za-z0-9_-]+)['\"]?\s*[)\]]"
)
NO_PAIRS_RE = re.compile(
    r"\bno\s+(?:qualifying\s+|such\s+|matching\s+|valid\s+)?pairs?\b|\bnone\b|^\s*\[\s*\]\s*$",
    re.IGNORECASE,
)
ALIASES: dict[str, tuple[str, ...]] = {
    "human being": ("human",),
    "numeric value": ("numeric",),
    "description and abstract concept": ("description", "abstract concept"),
    "more common than": ("more common", "more frequent"),
    "less common than": ("less common", "less frequent"),
    "same frequency as": ("same frequency", "equally common", "equally frequent"),
}


@dataclass
class Score:
    """A score in [0, 1] and how it was reached (parsed value, precision, recall...)."""

    score: float
    details: dict[str, Any] = field(default_factory=dict)


def after_answer_mark(text: str) -> str:
    """The text after the last "Answer:" (or "Final answer:"), else the whole text."""
    marks = list(ANSWER_MARK.finditer(text))
    return text[marks[-1].end():] if marks else text


def parse_number(answer: str) -> float | None:
    """The first number in the answer ("1,234", "1234.0", "about 12 records", "twelve")."""
    text = after_answer_mark(answer)
    match = NUMBER_RE.search(text)
    if match:
        return float(match.group(0).replace(",", ""))
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in NUMBER_WORDS:
            return float(NUMBER_WORDS[word])
    return None


def normalize(text: str) -> str:
    """Lower case, no markup or punctuation, single spaces; drops an "Answer:" prefix."""
    text = after_answer_mark(text).lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = re.sub(r"\b(?:the|label|is)\b", " ", text)
    return " ".join(text.split())


def _has_phrase(haystack: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", haystack) is not None


def score_needle(answer: str, gold: str) -> Score:
    """1.0 when the gold number is in the answer, else 0.0."""
    joined = re.sub(r"(?<=\d)[,\s](?=\d{3}(?!\d))", "", answer)
    found = re.search(rf"(?<!\d){re.escape(str(gold))}(?!\d)", joined) is not None
    return Score(1.0 if found else 0.0, {"found": found})


def score_number(answer: str, gold: float) -> Score:
    """0.75 ** |gold - parsed answer|; 0.0 when no number can be read."""
    value = parse_number(answer)
    if value is None:
        return Score(0.0, {"parsed": None})
    return Score(0.75 ** abs(float(gold) - value), {"parsed": value})


def score_choice(answer: str, gold: str, choices: list[str]) -> Score:
    """Exact match after normalising, or the single allowed choice the answer names."""
    said = normalize(answer)
    if not said:
        return Score(0.0, {"parsed": None})
    if said == normalize(gold):
        return Score(1.0, {"parsed": gold})
    named = [
        c for c in choices
        if any(_has_phrase(said, normalize(p)) for p in (c, *ALIASES.get(c, ())))
    ]
    if len(named) == 1:
        return Score(1.0 if named[0] == gold else 0.0, {"parsed": named[0]})
    return Score(0.0, {"parsed": None, "named": named})


def _pair_key(a: str, b: str, symmetric: bool) -> tuple[str, str]:
    if not symmetric:
        return (a, b)
    key = (lambda s: (0, int(s), s)) if a.isdigit() and b.isdigit() else (lambda s: (1, 0, s))
    return (a, b) if key(a) <= key(b) else (b, a)


def parse_pairs(answer: str, symmetric: bool) -> set[tuple[str, str]]:
    """Every "(id1, id2)" in the answer; symmetric pairs are put in a canonical order."""
    return {_pair_key(a, b, symmetric) for a, b in PAIR_RE.findall(answer)}


def score_pairs(answer: str, gold: list[list[str]] | list[tuple[str, str]],
                symmetric: bool) -> Score:
    """F1 over pairs, with precision and recall in the details."""
    truth = {_pair_key(str(a), str(b), symmetric) for a, b in gold}
    if not answer.strip():
        return Score(0.0, {"precision": 0.0, "recall": 0.0, "predicted": 0, "gold": len(truth)})
    predicted = parse_pairs(answer, symmetric)
    if not predicted:
        ok = not truth and NO_PAIRS_RE.search(answer) is not None
        value = 1.0 if ok else 0.0
        return Score(value, {"precision": value, "recall": value, "predicted": 0,
                             "gold": len(truth)})
    hits = len(predicted & truth)
    precision = hits / len(predicted)
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return Score(f1, {"precision": precision, "recall": recall, "predicted": len(predicted),
                      "gold": len(truth)})


def score_abstain(answer: str) -> Score:
    """1 when the answer says the text does not give it (and names no number), else 0."""
    from ..engine.grounding import is_not_found

    abstained = is_not_found(answer) and parse_number(answer) is None
    return Score(1.0 if abstained else 0.0, {"abstained": abstained})


def score_answer(answer: str | None, answer_type: str, gold: Any, *,
                 choices: list[str] | None = None, symmetric: bool = True) -> Score:
    """Score an answer by the task's answer type."""
    text = answer or ""
    if answer_type == "needle":
        return score_needle(text, str(gold))
    if answer_type == "number":
        return score_number(text, float(gold))
    if answer_type == "choice":
        return score_choice(text, str(gold), list(choices or [str(gold)]))
    if answer_type == "pairs":
        return score_pairs(text, gold, symmetric)
    if answer_type == "abstain":
        return score_abstain(text)
    raise ValueError(f"unknown answer type {answer_type!r}")
