"""The tree's budget: reservations before a call, settlement after, the first limit hit kept."""

from __future__ import annotations

import pytest

from rlm_toolkit.engine.budget import Budget
from rlm_toolkit.errors import LIMITS, BudgetExceeded, RLMError
from rlm_toolkit.providers.base import Usage


def test_reservations_count_against_the_limit_until_settled() -> None:
    budget = Budget(max_tokens=1_000)
    first = budget.reserve(600)
    with pytest.raises(BudgetExceeded) as caught:
        budget.reserve(600)  # 600 reserved + 600 > 1,000, though nothing is spent yet
    assert caught.value.limit == "max_tokens" and isinstance(caught.value, RLMError)
    budget.settle(first, None, None)  # the call failed: its room comes back
    budget.reserve(600)


def test_settling_records_usage_cost_and_the_first_limit_hit() -> None:
    budget = Budget(max_tokens=100, max_cost=1.0)
    r = budget.reserve(10)
    budget.settle(r, Usage(input_tokens=80, output_tokens=30), 0.25)
    budget.settle(r, Usage(input_tokens=999), 9.0)  # settling twice changes nothing
    assert budget.usage.total_tokens == 110 and budget.cost == 0.25
    assert budget.exhausted == "max_tokens"
    assert budget.exhausted in LIMITS


def test_sub_calls_are_capped_and_an_unknown_price_makes_the_cost_unknown() -> None:
    budget = Budget(max_subcalls=1)
    r = budget.reserve(1, subcall=True)
    with pytest.raises(BudgetExceeded, match="max_subcalls=1"):
        budget.reserve(1, subcall=True)
    budget.settle(r, Usage(input_tokens=1), None)
    assert budget.subcalls == 1 and budget.total_cost is None
