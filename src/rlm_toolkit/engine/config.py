"""RLMConfig: every knob of a run, validated up front with messages that name the fix."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import ConfigError
from ..privacy import DEFAULT_MAX_VERBATIM, POLICIES, Finder, build

SANDBOX_MODES = ("auto", "bwrap", "landlock", "unsafe-local")
#: The least memory_limit_mb accepted: the worker's interpreter with room for a small context
#: (it fails to start at 16 MB). Larger contexts need more: see `context.worker_memory_mb`.
MIN_MEMORY_LIMIT_MB = 128

_WHOLE_AT_LEAST_1 = ("max_iterations", "max_subcalls", "max_output_chars", "concurrency",
                     "max_calls_per_step", "keep_recent_turns", "scratch_limit_mb",
                     "scratch_max_files", "otel_code_chars")


#: The small-model strategies: getting unstuck, the answer-kind (next hop) check, the
#: guard against the worked example's answer and names never seen, the nudge towards
#: NOT_FOUND when the question's subject appears nowhere in the data, the refusal of a
#: count over the text's items ("Review N:") that never read the items, and the host's
#: labelling of every item for a question about the labels a text declares.
SMALL_STRATEGIES = ("unstuck", "answer_kind", "leak_guard", "abstain", "count_items",
                    "label_items")
#: How a run answers: always the RLM, the model read directly, or by the context's size.
ROUTES = ("rlm", "direct", "auto")


@dataclass(frozen=True)
class RLMConfig:
    """Limits and behaviour of a run. Budgets (tokens, cost, sub-calls) cover the whole tree.

    `scratch_limit_mb` / `scratch_max_files`: what the REPL worker may keep on disk in its
    scratch folder; past either, the step is stopped and the worker restarted.
    `small_model`: give the root the short system prompt and the guards for small models
    (guessed numbers, a copied prompt). None decides from the model's name (<= 4B parameters).
    `verify`: after a final answer, one sub-call judges whether the cited text supports it;
    an answer not supported gets one more chance, then is marked unverified
    (`result.grounded`). `verify_model`: the model for that call ("provider/model"; default
    the sub model).
    `otel`: send every span live over OpenTelemetry (extra `[otel]`; OTLP endpoint from the
    standard OTEL_EXPORTER_OTLP_* variables, or the application's own tracer provider);
    `otel_code_chars`: how much of a code step's code its span carries.
    `small_strategies`: which small-model strategies are on (see SMALL_STRATEGIES).
    `route`: "rlm" (the default), "direct" (one call with the whole text) or "auto" (direct
    when the context's tokens fit in `route_share` of the root model's window).
    `pin_goal`: every sub-call and child run carries the user's query as its goal (a short
    fixed preamble), so a sub-model reading a slice knows what the answer is for.
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
    verify: bool = False
    verify_model: str | None = None
    redact: tuple[str | re.Pattern[str] | Finder, ...] | None = None
    egress: str = "allow"
    egress_max_verbatim: int = DEFAULT_MAX_VERBATIM
    otel: bool = False
    otel_code_chars: int = 4_000
    pin_goal: bool = True
    small_strategies: tuple[str, ...] = SMALL_STRATEGIES
    route: str = "rlm"
    route_share: float = 0.5

    def __post_init__(self) -> None:
        self._check_small()
        for name in _WHOLE_AT_LEAST_1:
            _whole(name, getattr(self, name), minimum=1)
        _whole("max_depth", self.max_depth, minimum=0)
        for name in ("max_tokens", "sub_max_tokens", "root_max_tokens"):
            _whole(name, getattr(self, name), minimum=1, optional=True)
        _whole("memory_limit_mb", self.memory_limit_mb, minimum=MIN_MEMORY_LIMIT_MB,
               optional=True)
        for name in ("max_cost", "timeout_s"):
            _positive(name, getattr(self, name), optional=True)
        _positive("step_timeout_s", self.step_timeout_s)
        if self.temperature is not None:
            _number("temperature", self.temperature)
            if not 0 <= self.temperature <= 2:
                raise ConfigError(
                    f"RLMConfig.temperature must be between 0 and 2, got {self.temperature!r}"
                )
        if self.system_prompt is not None and (
                not isinstance(self.system_prompt, str) or not self.system_prompt.strip()):
            raise ConfigError(
                f"RLMConfig.system_prompt must be a non-empty str or None (None uses the "
                f"built-in prompt), got {self.system_prompt!r}"
            )
        if self.small_model is not None and not isinstance(self.small_model, bool):
            raise ConfigError(
                f"RLMConfig.small_model must be True, False or None (None decides from the "
                f"model's name), got {self.small_model!r}"
            )
        if not isinstance(self.otel, bool):
            raise ConfigError(f"RLMConfig.otel must be True or False, got {self.otel!r}")
        if not isinstance(self.pin_goal, bool):
            raise ConfigError(f"RLMConfig.pin_goal must be True or False, got {self.pin_goal!r}")
        if not isinstance(self.verify, bool):
            raise ConfigError(f"RLMConfig.verify must be True or False, got {self.verify!r}")
        if self.verify_model is not None and (
                not isinstance(self.verify_model, str) or not self.verify_model.strip()):
            raise ConfigError(
                f"RLMConfig.verify_model must be a \"provider/model\" string or None (None uses "
                f"the sub model), got {self.verify_model!r}"
            )
        self._check_privacy()
        if not isinstance(self.sandbox, str) or self.sandbox not in SANDBOX_MODES:
            raise ConfigError(
                f"RLMConfig.sandbox must be one of {', '.join(SANDBOX_MODES)}; got {self.sandbox!r}"
            )

    def _check_small(self) -> None:
        strategies = self.small_strategies
        if isinstance(strategies, str) or not isinstance(strategies, (tuple, list)) or \
                any(s not in SMALL_STRATEGIES for s in strategies):
            raise ConfigError(
                f"RLMConfig.small_strategies must be a tuple of {', '.join(SMALL_STRATEGIES)} "
                f"(or empty for none), got {strategies!r}")
        object.__setattr__(self, "small_strategies", tuple(strategies))
        if self.route not in ROUTES:
            raise ConfigError(f"RLMConfig.route must be one of {', '.join(ROUTES)} ('auto': "
                              f"direct when the context fits in route_share of the model's "
                              f"window), got {self.route!r}")
        if not 0 < _number("route_share", self.route_share) <= 1:
            raise ConfigError(f"RLMConfig.route_share must be in (0, 1], got {self.route_share!r}")

    def _check_privacy(self) -> None:
        if not isinstance(self.egress, str) or self.egress not in POLICIES:
            raise ConfigError(
                f"RLMConfig.egress must be one of {', '.join(POLICIES)}; got {self.egress!r}"
            )
        _whole("egress_max_verbatim", self.egress_max_verbatim, minimum=1)
        if self.redact is None:
            return
        if isinstance(self.redact, (str, bytes)) or not isinstance(self.redact, (list, tuple)):
            raise ConfigError(
                f"RLMConfig.redact must be a list such as [\"email\", \"card\"], got "
                f"{self.redact!r}"
            )
        object.__setattr__(self, "redact", tuple(self.redact))
        if any(isinstance(s, str) and s in ("person", "location") for s in self.redact):
            return  # the NER detectors load a model: checked when the run builds them
        build(self.redact)  # an unknown name or a bad pattern is refused here

    def with_(self, **changes: Any) -> RLMConfig:
        """A copy with some fields changed (validated again)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ConfigError(f"unknown RLMConfig field(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)


def _whole(name: str, value: object, *, minimum: int, optional: bool = False) -> None:
    """A whole number (not a bool) >= minimum, or None when `optional`."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        none = " or None" if optional else ""
        raise ConfigError(
            f"RLMConfig.{name} must be a whole number >= {minimum}{none}, got {value!r}"
        )


def _number(name: str, value: object) -> float:
    """A finite int or float (not a bool, not a string, not NaN or infinity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"RLMConfig.{name} must be a finite number, got {value!r}")
    return float(value)


def _positive(name: str, value: object, *, optional: bool = False) -> None:
    """A finite number > 0, or None when `optional`."""
    if value is None and optional:
        return
    if _number(name, value) <= 0:
        none = " or None for no limit" if optional else ""
        raise ConfigError(f"RLMConfig.{name} must be a number > 0{none}, got {value!r}")
