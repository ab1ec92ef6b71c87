"""Patterns over the engine's public API: typed results, goal pinning, plan-and-solve.

- `OutputSchema` / `extract_json`: the schema of a typed output (a Pydantic model, a
  dataclass or a JSON schema dict) and the JSON found in a reply; `rlm.run(..., output=T)`
  uses them, and so can your own code around `llm()` calls.
- `solve_prompts`: the texts `solve(goal)` sends inside the REPL (plan, step, synthesis).

Goal pinning itself is a switch of the engine (`RLMConfig(pin_goal=True)`, the default).
"""

from ..engine.schema import OutputSchema, extract_json
from .solve import SOLVE_PROMPTS, solve_in_program

__all__ = ["SOLVE_PROMPTS", "OutputSchema", "extract_json", "solve_in_program"]
