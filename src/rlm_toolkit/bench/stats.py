"""Summaries of bench results: mean score with a seeded bootstrap 95% CI, per task kind,
method and size, and the markdown table of them."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

BOOTSTRAP_SAMPLES = 2_000


def bootstrap_ci(values: Sequence[float], *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; the same inputs always give the same CI."""
    if not values:
        return (float("nan"), float("nan"))
    if len(values) == 1:
        return (float(values[0]), float(values[0]))
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(samples))
    lo_i = int((1 - level) / 2 * samples)
    hi_i = min(samples - 1, int((1 + level) / 2 * samples) - 1)
    return (means[lo_i], means[hi_i])


@dataclass
class SummaryRow:
    """One cell of the results: a task kind ("all" for every kind), method and size."""

    kind: str
    method: str
    tokens: int
    n: int
    mean: float
    ci_low: float
    ci_high: float
    errors: int
    mean_tokens: float
    cost: float | None
    mean_wall_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row(kind: str, method: str, tokens: int, recs: list[dict[str, Any]], seed: int) -> SummaryRow:
    scores = [float(r.get("score") or 0.0) for r in recs]
    low, high = bootstrap_ci(scores, seed=seed)
    costs = [r.get("cost") for r in recs]
    n = len(recs)
    return SummaryRow(
        kind=kind, method=method, tokens=tokens, n=n, mean=sum(scores) / n,
        ci_low=low, ci_high=high,
        errors=sum(1 for r in recs if r.get("status") == "error"),
        mean_tokens=sum(int(r.get("total_tokens") or 0) for r in recs) / n,
        cost=None if any(c is None for c in costs) else sum(float(c or 0.0) for c in costs),
        mean_wall_s=sum(float(r.get("wall_s") or 0.0) for r in recs) / n,
    )


def summarize(records: Iterable[dict[str, Any]], *, seed: int = 0) -> list[SummaryRow]:
    """Rows per (kind, method, size), then per (method, size) over all kinds as kind "all"."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for rec in records:
        for kind in (rec["kind"], "all"):
            groups.setdefault((kind, rec["method"], int(rec["tokens"])), []).append(rec)
    kinds = sorted({k for k, _, _ in groups} - {"all"})
    if len(kinds) <= 1:  # "all" would repeat the only kind
        groups = {key: v for key, v in groups.items() if key[0] != "all"}
    order = {k: i for i, k in enumerate([*kinds, "all"])}
    keys = sorted(groups, key=lambda k: (order[k[0]], k[2], k[1]))
    return [_row(k, m, t, groups[k, m, t], seed) for k, m, t in keys]


def _money(cost: float | None) -> str:
    return "unknown" if cost is None else f"${cost:.4f}"


def markdown_table(rows: Sequence[SummaryRow]) -> str:
    """The summary as a markdown table, one row per kind, size and method."""
    lines = [
        "| task | tokens | method | n | score (95% CI) | errors | mean tokens used | cost | mean time (s) |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.kind} | {r.tokens:,} | {r.method} | {r.n} | "
            f"{r.mean:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] | {r.errors} | "
            f"{r.mean_tokens:,.0f} | {_money(r.cost)} | {r.mean_wall_s:.1f} |"
        )
    return "\n".join(lines) + "\n"
