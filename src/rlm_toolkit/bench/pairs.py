"""OOLONG-Pairs-style: list the pairs of users whose (hidden) labels meet conditions.

Symmetric tasks put one condition on both users (unordered pairs, lower ID first);
asymmetric tasks put a different condition on each side (ordered pairs). Scored by F1 over
pairs, with precision and recall.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from .instances import LABELS
from .records import Record, make_records, render
from .task import Task
from .text import rng_for

FORMS = ("at_least", "exactly", "more_than")
PAIR_HINT = (
    " Answer with one pair a line, written as (id1, id2). If no pair qualifies, answer "
    "'no pairs'."
)


def user_counts(records: list[Record]) -> dict[str, Counter[str]]:
    """Per user, how many records carry each label."""
    out: dict[str, Counter[str]] = {}
    for r in records:
        out.setdefault(r.user, Counter())[r.label] += 1
    return out


def holds(cond: dict[str, Any], counts: Counter[str]) -> bool:
    """Whether a user with these label counts meets `cond`."""
    if cond["form"] == "more_than":
        a, b = cond["labels"]
        return counts[a] > counts[b]
    total = sum(counts[label] for label in cond["labels"])
    return total >= cond["n"] if cond["form"] == "at_least" else total == cond["n"]


def describe_condition(cond: dict[str, Any]) -> str:
    """The condition in words."""
    labels = cond["labels"]
    if cond["form"] == "more_than":
        return f"more instances labeled '{labels[0]}' than instances labeled '{labels[1]}'"
    what = " or ".join(f"'{label}'" for label in labels)
    n = cond["n"]
    noun = "instance" if n == 1 else "instances"
    together = " (counted together)" if len(labels) > 1 else ""
    if cond["form"] == "exactly":
        return f"exactly {n} {noun} labeled {what}{together}"
    return f"at least {n} {noun} labeled {what}{together}"


def _condition(rng: random.Random, per_user: dict[str, Counter[str]]) -> dict[str, Any]:
    """A random condition met by some but not all users (when one can be found)."""
    cond: dict[str, Any] = {}
    for _ in range(200):
        form = rng.choice(FORMS)
        labels = rng.sample(LABELS, 2 if form == "more_than" or rng.random() < 0.3 else 1)
        cond = {"form": form, "labels": labels}
        if form != "more_than":
            totals = sorted({sum(c[label] for label in labels) for c in per_user.values()})
            cond["n"] = max(1, rng.choice(totals))
        share = sum(holds(cond, c) for c in per_user.values()) / len(per_user)
        if 0.2 <= share <= 0.6:
            break
    return cond


def gold_pairs(
    per_user: dict[str, Counter[str]], first: dict[str, Any], second: dict[str, Any],
    symmetric: bool,
) -> list[list[str]]:
    """Every qualifying pair, sorted; symmetric pairs are written lower ID first."""
    users = sorted(per_user, key=int)
    if symmetric:
        ok = [u for u in users if holds(first, per_user[u])]
        return [[a, b] for i, a in enumerate(ok) for b in ok[i + 1:]]
    return [[a, b] for a in users for b in users
            if a != b and holds(first, per_user[a]) and holds(second, per_user[b])]


def generate_pairs(tokens: int, seed: int, symmetric: bool | None = None) -> Task:
    """A pairs task of about `tokens` tokens; `symmetric` picks the variant (seeded if None)."""
    rng = rng_for("pairs", tokens, seed)
    records = make_records(rng, tokens * 4, min_users=8, max_users=30)
    if symmetric is None:
        symmetric = rng.random() < 0.5
    per_user = user_counts(records)
    first = _condition(rng, per_user)
    second = first if symmetric else _condition(rng, per_user)
    if symmetric:
        question = (
            "In the data above, list every pair of user IDs where both users have "
            f"{describe_condition(first)}. List each pair once, lower ID first." + PAIR_HINT
        )
    else:
        question = (
            "In the data above, list every ordered pair of two different user IDs (id1, id2) "
            f"where user id1 has {describe_condition(first)} and user id2 has "
            f"{describe_condition(second)}. Order matters: id1 meets the first condition and "
            "id2 the second." + PAIR_HINT
        )
    return Task(
        id=f"pairs-{tokens}-s{seed}",
        kind="pairs",
        tokens=tokens,
        seed=seed,
        context=render(records),
        question=question,
        gold=gold_pairs(per_user, first, second, symmetric),
        answer_type="pairs",
        symmetric=symmetric,
        verify={
            "conditions": [first, second],
            "records": [r.to_verify() for r in records],
        },
    )
