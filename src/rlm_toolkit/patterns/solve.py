"""Plan, solve each step in a fresh context carrying the goal, synthesise: `solve(goal)`.

The REPL holds `solve` itself (model code calls it). From your own program, the same pattern
runs in the jail through program mode: `solve_in_program(rlm, context, goal)`.
"""

from __future__ import annotations

from typing import Any

from ..engine import RLM
from ..engine.result import RLMResult
from ..sandbox.worker.structured import PLAN_PROMPT, STEP_PROMPT, SYNTH_PROMPT

#: What `solve` sends: the plan request, each step, the synthesis.
SOLVE_PROMPTS = {"plan": PLAN_PROMPT, "step": STEP_PROMPT, "synthesis": SYNTH_PROMPT}


def solve_in_program(rlm: RLM, context: Any, goal: str,
                     steps: list[str] | None = None) -> RLMResult:
    """Run `solve(goal, steps)` as a program over `context` (no root model): each step is a
    span in the result's trace, and the answer is the synthesis."""
    code = f"FINAL(solve({goal!r}, {steps!r}))"
    return rlm.run(context=context, code=code, program_name="<solve>")
