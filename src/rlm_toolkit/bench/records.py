"""Dated, per-user records with hidden labels: the shared data of OOLONG and OOLONG-Pairs."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass

from .instances import LABELS, instance

FIRST_DAY = dt.date(2022, 1, 1)
DAYS = (dt.date(2024, 12, 31) - FIRST_DAY).days + 1
AVERAGE_LINE_CHARS = 80


@dataclass(frozen=True)
class Record:
    """One line of the context. `label` is never written into the context."""

    date: dt.date
    user: str
    instance: str
    label: str

    def line(self) -> str:
        return f"Date: {fmt_date(self.date)} || User: {self.user} || Instance: {self.instance}"

    def to_verify(self) -> dict[str, str]:
        return {"date": self.date.isoformat(), "user": self.user, "label": self.label}


def fmt_date(day: dt.date) -> str:
    """The date as written in records and questions: "Jan 03, 2023"."""
    return day.strftime("%b %d, %Y")


def preamble(n_records: int) -> str:
    """The header OOLONG puts before its records: the task and the six labels."""
    return (
        f"The following lines contain {n_records} general-knowledge questions, one per line. "
        "Each line gives a date, a user ID and the question (the instance). Every instance "
        "belongs to exactly one of these labels: " + ", ".join(LABELS) + ". The labels are not "
        "written down; infer each one from what the question asks for.\n\n"
    )


def make_records(
    rng: random.Random, chars: int, *, min_users: int, max_users: int
) -> list[Record]:
    """Records until the rendered context reaches about `chars` characters.

    Label frequencies differ per context, and each user leans towards some labels, so
    per-user and pairwise questions have varied answers.
    """
    estimate = max(1, chars // AVERAGE_LINE_CHARS)
    n_users = max(min_users, min(max_users, estimate // 10))
    users = [str(u) for u in rng.sample(range(10_000, 100_000), n_users)]
    activity = [rng.uniform(0.4, 2.0) for _ in users]
    base = [rng.uniform(0.25, 1.0) for _ in LABELS]
    leaning = {u: [b * rng.uniform(0.1, 1.9) for b in base] for u in users}
    records: list[Record] = []
    total = len(preamble(estimate))
    while total < chars:
        user = rng.choices(users, activity)[0]
        label = rng.choices(LABELS, leaning[user])[0]
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
        record = Record(day, user, instance(label, rng), label)
        records.append(record)
        total += len(record.line()) + 1
    return records


def render(records: list[Record]) -> str:
    """The context: preamble, then one record a line."""
    return preamble(len(records)) + "\n".join(r.line() for r in records) + "\n"


def label_counts(records: list[Record]) -> Counter[str]:
    """How many records carry each label (every label present, zero when absent)."""
    counts: Counter[str] = Counter(dict.fromkeys(LABELS, 0))
    counts.update(r.label for r in records)
    return counts
