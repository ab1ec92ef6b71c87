"""The isolation tiers that jail the REPL worker: bubblewrap, else Landlock; seccomp under both.

`plan_jailed` picks the tier (failing closed) and returns the worker's launch plan.
"""

from __future__ import annotations

from ..plan import LaunchPlan
from .detect import TierStatus, all_tiers, choose_tier, platform_problem


def plan_jailed(sandbox: str, scratch: str, memory_limit_mb: int | None = None, *,
                scratch_limit_mb: int | None = None) -> LaunchPlan:
    """The launch plan for `sandbox` in "auto", "bwrap" or "landlock" mode.

    Raises SandboxUnavailable when the requested tier (or, for "auto", every tier) is missing.
    """
    tier, _ = choose_tier(sandbox)
    if tier.name == "bwrap":
        from .bwrap import bwrap_plan

        plan = bwrap_plan(tier.details["binary"], scratch, memory_limit_mb, scratch_limit_mb)
    else:
        from .landlock import landlock_plan

        plan = landlock_plan(scratch, memory_limit_mb, scratch_limit_mb)
    plan.notes.insert(0, tier.reason)
    return plan


__all__ = ["TierStatus", "all_tiers", "choose_tier", "plan_jailed", "platform_problem"]
