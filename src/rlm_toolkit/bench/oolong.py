"""OOLONG-style aggregation: questions that need the (hidden) label of every record.

Question types follow OOLONG's trec_coarse split: counts of a label, the most and least
frequent label, comparisons between two labels, and per-user and time-window variants.
Numeric answers are scored 0.75 ** |gold - answer|; the others by exact match.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from .instances import LABELS
from .records import DAYS, FIRST_DAY, Record, fmt_date, label_counts, make_records, render
from .task import Task
from .text import rng_for

QUESTION_TYPES = (
    "count", "most_common", "least_common", "compare", "user_count", "window_count",
    "user_most_common",
)
COMPARISONS = ("more common than", "less common than", "same frequency as")
NUMBER_HINT = " Answer with a whole number only."
LABEL_HINT = " Answer with the label name only."


def unique_extreme(counts: Counter[str], highest: bool) -> str | None:
    """The label with the single highest (or lowest) count, or None on a tie."""
    target = max(counts.values()) if highest else min(counts.values())
    found = [label for label, c in counts.items() if c == target]
    return found[0] if len(found) == 1 else None


def _ask(qtype: str, records: list[Record], rng: random.Random) -> dict[str, Any] | None:
    """A question spec with its gold answer, or None when this type has no clean answer."""
    counts = label_counts(records)
    if qtype == "count":
        label = rng.choice(LABELS)
        return {"type": qtype, "label": label, "gold": counts[label],
                "text": f"How many of the instances above should be classified with the label "
                        f"'{label}'?" + NUMBER_HINT}
    if qtype in ("most_common", "least_common"):
        best = unique_extreme(counts, qtype == "most_common")
        word = "most" if qtype == "most_common" else "least"
        return None if best is None else {
            "type": qtype, "gold": best,
            "text": f"Which label is the {word} common among the instances above?" + LABEL_HINT}
    if qtype == "compare":
        a, b = rng.sample(LABELS, 2)
        gold = COMPARISONS[0] if counts[a] > counts[b] else (
            COMPARISONS[1] if counts[a] < counts[b] else COMPARISONS[2])
        return {"type": qtype, "labels": [a, b], "gold": gold,
                "text": f"Among the instances above, is the label '{a}' more common than, less "
                        f"common than, or the same frequency as the label '{b}'? Answer with "
                        "exactly one of: more common than, less common than, same frequency as."}
    if qtype in ("user_count", "user_most_common"):
        user = rng.choice(sorted({r.user for r in records}))
        mine = label_counts([r for r in records if r.user == user])
        if qtype == "user_most_common":
            best = unique_extreme(mine, True)
            return None if best is None else {
                "type": qtype, "user": user, "gold": best,
                "text": f"Which label is the most common among the instances of user {user}?"
                        + LABEL_HINT}
        label = rng.choice(LABELS)
        return {"type": qtype, "user": user, "label": label, "gold": mine[label],
                "text": f"For user {user}, how many instances should be classified with the "
                        f"label '{label}'?" + NUMBER_HINT}
    if qtype == "window_count":
        span = rng.randint(60, 240)
        start = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS - span))
        end = start + dt.timedelta(days=span - 1)
        label = rng.choice(LABELS)
        in_window = sum(1 for r in records if start <= r.date <= end and r.label == label)
        return {"type": qtype, "label": label, "start": start.isoformat(),
                "end": end.isoformat(), "gold": in_window,
                "text": f"Among the instances dated from {fmt_date(start)} to {fmt_date(end)} "
                        f"(both days included), how many should be classified with the label "
                        f"'{label}'?" + NUMBER_HINT}
    raise ValueError(f"unknown OOLONG question type {qtype!r}")


def generate_oolong(tokens: int, seed: int, qtype: str | None = None) -> Task:
    """An aggregation task of about `tokens` tokens; `qtype` picks the question type."""
    rng = rng_for("oolong", tokens, seed)
    records = make_records(rng, tokens * 4, min_users=8, max_users=500)
    order = [qtype] if qtype else rng.sample(QUESTION_TYPES, len(QUESTION_TYPES))
    spec = None
    for candidate in order * 5:
        spec = _ask(candidate, records, rng)
        if spec is not None:
            break
    if spec is None:
        raise ValueError(f"could not build a {qtype} question for this context; try another seed")
    gold = spec.pop("gold")
    text = spec.pop("text")
    numeric = isinstance(gold, int)
    choices = [] if numeric else list(COMPARISONS if spec["type"] == "compare" else LABELS)
    return Task(
        id=f"oolong-{tokens}-s{seed}",
        kind="oolong",
        tokens=tokens,
        seed=seed,
        context=render(records),
        question=text,
        gold=gold,
        answer_type="number" if numeric else "choice",
        choices=choices,
        verify={"question": spec, "records": [r.to_verify() for r in records]},
    )
