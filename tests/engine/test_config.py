"""RLMConfig refuses every bad field up front with a ConfigError naming the field and the fix."""

from __future__ import annotations

import math

import pytest

from rlm_toolkit import RLMConfig
from rlm_toolkit.engine.config import MIN_MEMORY_LIMIT_MB
from rlm_toolkit.errors import ConfigError

BAD = [
    ("max_cost", math.nan, "finite number"),
    ("max_cost", math.inf, "finite number"),
    ("timeout_s", math.nan, "finite number"),
    ("step_timeout_s", math.nan, "finite number"),
    ("step_timeout_s", "10", "finite number"),
    ("step_timeout_s", 0, "number > 0"),
    ("max_iterations", True, "whole number >= 1"),
    ("max_iterations", 2.5, "whole number >= 1"),
    ("max_tokens", 1000.5, "whole number >= 1 or None"),
    ("max_depth", -1, "whole number >= 0"),
    ("small_model", "yes", "True, False or None"),
    ("temperature", "hot", "finite number"),
    ("temperature", 3, "between 0 and 2"),
    ("system_prompt", 123, "non-empty str or None"),
    ("sandbox", 7, "one of auto"),
    ("memory_limit_mb", 16, f"whole number >= {MIN_MEMORY_LIMIT_MB}"),
    ("concurrency", 0, "whole number >= 1"),
]


@pytest.mark.parametrize(("field", "value", "says"), BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_a_bad_field_is_refused_naming_it(field: str, value: object, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RLMConfig(**{field: value})  # type: ignore[arg-type]
    message = str(caught.value)
    assert f"RLMConfig.{field}" in message and says in message and repr(value) in message


def test_good_values_pass_and_with_validates_again() -> None:
    cfg = RLMConfig(max_cost=0.5, timeout_s=30, temperature=None, small_model=False,
                    memory_limit_mb=None, max_tokens=10_000, system_prompt="Be brief.")
    assert cfg.with_(max_iterations=3).max_iterations == 3
    with pytest.raises(ConfigError, match="max_cost"):
        cfg.with_(max_cost=math.nan)
    with pytest.raises(ConfigError, match="unknown RLMConfig field"):
        cfg.with_(colour="blue")


def test_a_memory_limit_too_small_for_the_context_is_refused_before_the_worker_starts() -> None:
    from rlm_toolkit.testing import ScriptedLLM
    from tests.helpers import make_rlm

    root = ScriptedLLM(["FINAL('never')"])
    rows = [{"i": i, "t": "abc"} for i in range(500_000)]  # 10 MB of JSON: ~160 MB in Python
    with pytest.raises(ConfigError) as caught:
        make_rlm(root, memory_limit_mb=128).run(context=rows, query="q")
    message = str(caught.value)
    assert "RLMConfig.memory_limit_mb=128 is too small for this context" in message
    assert "or None for no limit" in message
    assert root.calls == 0
