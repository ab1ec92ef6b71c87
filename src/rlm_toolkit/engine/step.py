"""One root turn's outcome as a value, and how a code step is shown back to the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..sandbox import StepResult
from .parsing import parse_reply


@dataclass(frozen=True)
class StepOutcome:
    """What one reply of the root model produced once its code ran.

    Fields:
        final: the final answer it gave, or None when the run goes on.
        feedback: what the model is told back (outputs, notes), in order.
        final_code: the code block that gave `final`; "" when the final was written as text.
        seen_before: what the model had been shown before `final_code` ran (its output may
            echo the answer, so an answer's numbers are checked against what came before).
        cite: the citations given with `final` (as the worker sent them), or None.
    """

    final: str | None
    feedback: list[str] = field(default_factory=list)
    final_code: str = ""
    seen_before: str = ""
    cite: list[dict[str, Any]] | None = None


def format_step(step: StepResult, limit: int) -> str:
    """A code step's output for the model: cut to `limit` characters, saying what was cut."""
    text = step.stdout
    if step.stderr:
        text += f"\n[stderr]\n{step.stderr}"
    if step.error:
        text += f"\n{step.error}"
    text = text.strip("\n") or "(no output)"
    hidden = step.dropped_chars + max(0, len(text) - limit)
    text = text[:limit]
    if hidden:
        text += f"\n... [+{hidden:,} chars not shown: print slices or summaries]"
    parts = [f"Output:\n```\n{text}\n```"]
    if step.restored:
        names = ", ".join(step.restored)
        parts.append(f"Note: you assigned to {names}; the original was restored. "
                     "Keep results in new variables.")
    return "\n".join(parts)


def step_output(step: StepResult) -> str:
    """Everything a step printed (stdout, then stderr)."""
    return step.stdout + (f"\n[stderr]\n{step.stderr}" if step.stderr else "")


def turn_summary(it: int, reply: str, feedback: list[str]) -> str:
    """One line for an older turn once it leaves the recent window."""
    parsed = parse_reply(reply)
    if parsed.code_blocks:
        first = parsed.code_blocks[0].strip().splitlines()[0][:80]
        more = len(parsed.code_blocks) - 1
        did = f"ran `{first}`" + (f" (+{more} block)" if more else "")
    else:
        did = "wrote no code"
    out = " ".join(" ".join(feedback).split())[:160]
    return f"- step {it}: {did} -> {out}"
