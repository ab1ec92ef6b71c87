"""The record of what left the machine: per provider, requests, characters, the context's
ranges and coverage, what was redacted (kinds and counts, never the values), what was refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .verbatim import merge

#: At most this many context ranges are listed per provider (all are counted in coverage).
MAX_RANGES = 1_000


@dataclass
class ProviderEgress:
    """What one provider was sent during a run."""

    local: bool
    requests: int = 0
    chars_sent: int = 0
    refused: int = 0
    withheld_chars: int = 0
    purposes: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    ranges: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self, context_chars: int, measured: bool = True) -> dict[str, Any]:
        ranges = merge(self.ranges)
        covered = sum(b - a for a, b in ranges)
        coverage = round(covered / context_chars, 6) if context_chars else 0.0
        return {
            "local": self.local,
            "requests": self.requests,
            "chars_sent": self.chars_sent,
            "purposes": dict(sorted(self.purposes.items())),
            "context_chars_sent": covered,
            "coverage": coverage if measured else None,
            "context_ranges": [list(r) for r in ranges[:MAX_RANGES]],
            "context_ranges_total": len(ranges),
            "redactions": dict(sorted(self.redactions.items())),
            "refused": self.refused,
            "withheld_chars": self.withheld_chars,
        }


@dataclass
class EgressAudit:
    """Per-provider egress of one run (the whole tree: children, verifier included)."""

    policy: str
    context_chars: int
    measured: bool = True  # False: the context was too large to measure coverage
    providers: dict[str, ProviderEgress] = field(default_factory=dict)

    def provider(self, name: str, local: bool) -> ProviderEgress:
        entry = self.providers.get(name)
        if entry is None:
            entry = self.providers[name] = ProviderEgress(local)
        return entry

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `result.egress`, the trace and `rlm run --audit`."""
        total: Counter[str] = Counter()
        for p in self.providers.values():
            total.update(p.redactions)
        return {
            "policy": self.policy,
            "context_chars": self.context_chars,
            "redactions": dict(sorted(total.items())),
            "providers": {n: p.to_dict(self.context_chars, self.measured)
                          for n, p in sorted(self.providers.items())},
        }


def render(audit: dict[str, Any]) -> str:
    """The audit as lines for a terminal."""
    lines = [f"egress policy: {audit.get('policy')}  "
             f"(context {audit.get('context_chars', 0):,} chars)"]
    providers = audit.get("providers") or {}
    if not providers:
        lines.append("  nothing was sent to any provider")
    for name, p in providers.items():
        where = "local" if p["local"] else "remote"
        share = "not measured" if p["coverage"] is None else f"{p['coverage']:.1%}"
        lines.append(
            f"  {name} ({where}): {p['requests']} request(s), {p['chars_sent']:,} chars sent; "
            f"context {p['context_chars_sent']:,} chars ({share}) in "
            f"{p['context_ranges_total']} range(s)"
        )
        if p["redactions"]:
            kinds = ", ".join(f"{k} {n}" for k, n in p["redactions"].items())
            lines.append(f"    redacted: {kinds}")
        if p["refused"] or p["withheld_chars"]:
            lines.append(f"    refused: {p['refused']} request(s); withheld from the root: "
                         f"{p['withheld_chars']:,} chars")
    return "\n".join(lines)
