"""RLMConfig: every knob of a run, validated up front with messages that name the fix."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import ConfigError

SANDBOX_MODES = ("auto", "bwrap", "landlock", "unsafe-local")


@dataclass(frozen=True)
class RLMConfig:
    """Limits and behaviour of a run. Budgets (tokens, cost, sub-calls) cover the whole tree.

    `scratch_limit_mb` / `scratch_max_files`: what the REPL worker may keep on disk in its
    scratch folder; past either, the step is stopped and the worker restarted.
    `small_model`: give the root the short system prompt and the guards for small models
    (guessed numbers, a copied prompt). None decides from the model's name (<= 4B parameters).
    """

    max_iterations: int = 20
    max_depth: int = 1
    max_subcalls: int = 500
    max_tokens: int | None = None
    max_cost: float | None = None
    timeout_s: float | None = None
    step_timeout_s: float = 120.0
    max_output_chars: int = 4_000
    concurrency: int = 8
    temperature: float | None = 0.0
    system_prompt: str | None = None
    small_model: bool | None = None
    sandbox: str = "auto"
    memory_limit_mb: int | None = 4096
    scratch_limit_mb: int = 1024
    scratch_max_files: int = 100_000
    max_calls_per_step: int = 1_000
    keep_recent_turns: int = 4
    sub_max_tokens: int | None = None
    root_max_tokens: int | None = None

    def __post_init__(self) -> None:
        positive = ("max_iterations", "max_subcalls", "max_output_chars", "concurrency",
                    "max_calls_per_step", "keep_recent_turns", "scratch_limit_mb",
                    "scratch_max_files")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"RLMConfig.{name} must be a whole number >= 1, got {value!r}")
        if not isinstance(self.max_depth, int) or self.max_depth < 0:
            raise ConfigError(f"RLMConfig.max_depth must be >= 0, got {self.max_depth!r}")
        for name in ("max_tokens", "max_cost", "timeout_s", "memory_limit_mb",
                     "sub_max_tokens", "root_max_tokens"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or value <= 0):
                raise ConfigError(f"RLMConfig.{name} must be a positive number or None, got {value!r}")
        if self.step_timeout_s <= 0:
            raise ConfigError("RLMConfig.step_timeout_s must be a positive number of seconds")
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise ConfigError(f"RLMConfig.temperature must be in [0, 2], got {self.temperature}")
        if self.sandbox not in SANDBOX_MODES:
            raise ConfigError(
                f"RLMConfig.sandbox must be one of {', '.join(SANDBOX_MODES)}; got {self.sandbox!r}"
            )

    def with_(self, **changes: Any) -> RLMConfig:
        """A copy with some fields changed (validated again)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ConfigError(f"unknown RLMConfig field(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)
