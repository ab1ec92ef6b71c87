"""What a run remembers between its steps, in one place.

The loop reads and updates this state; each step's outcome is a separate value (`step.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..providers.base import Usage
from .citations import Citation
from .count_items import CountPlan
from .grounding import Verdict

SEEN_LIMIT = 200_000


@dataclass
class RunState:
    """The mutable state of one run (one depth), with its once-only guards.

    Fields:
        code_ran: some code of this run has been executed in the REPL.
        codes_run: every code block run so far, normalised (`guards.code_key`), to recognise
            a block the model repeats.
        first_turn_guard_used: a final answer given before any code was refused once already.
        small_guard_used: the small-model guard (copied prompt, guessed number) fired once.
        seen: the tail (SEEN_LIMIT characters) of every output the model has been shown.
        partial: the best answer so far (`answer["content"]`, a refused final), returned
            when the run stops early.
        iterations: root iterations started so far.
        root_calls: root-model calls made by this run.
        usage: tokens used by this run's own calls (root and sub-calls, not its children).
        codes: every code block run, in order (the evidence of a computed answer).
        citations: the checked citations of the latest final answer.
        grounded: True (verified), False (a bad citation, or not verified), None (not checked).
        verdict: the verifier's verdict on the latest final answer.
        verify_retry_used: the one more chance after a rejected answer was given.
        evidence_code: the code recorded as the evidence of a computed answer.
        output_retry_used: a final answer that did not match the output schema was sent back.
        output: the validated typed value of the accepted final answer (`output=`).
        stuck: steps in a row whose code or output repeated an earlier one.
        last_output: what the latest code step printed (to see an unchanged output).
        small_checks_used: the small-model answer checks that fired already (once each).
        count_plan: a count over the text's items that the host runs next (set by a check).
        label_table: what the host's labelling step printed (the label counts), if it ran.
    """

    code_ran: bool = False
    codes_run: set[str] = field(default_factory=set)
    first_turn_guard_used: bool = False
    small_guard_used: bool = False
    seen: str = ""
    partial: str = ""
    iterations: int = 0
    root_calls: int = 0
    usage: Usage = field(default_factory=Usage)
    codes: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    grounded: bool | None = None
    verdict: Verdict | None = None
    verify_retry_used: bool = False
    evidence_code: str = ""
    output_retry_used: bool = False
    output: Any = None
    stuck: int = 0
    last_output: str = ""
    small_checks_used: set[str] = field(default_factory=set)
    count_plan: CountPlan | None = None
    label_table: str = ""

    def saw(self, output: str) -> None:
        """Record output the model is shown."""
        self.seen = (self.seen + output)[-SEEN_LIMIT:]

    def is_repeat(self, key: str) -> bool:
        """Record a code block about to run; True when the same block had run before."""
        repeated = key in self.codes_run
        self.codes_run.add(key)
        return repeated
