"""Program mode: the user's own code (not a model's) runs once in the jail over the context.

`llm()`, `llm_batch()`, `rlm_query()` and the helpers are there as for a model; only what the
code passes to them leaves the machine, through the run's egress gate. The answer is what the
code gives: `FINAL(x)`, or what it sets in `answer`.
"""

from __future__ import annotations

import re

from ..sandbox import StepResult, Worker
from ..trace import Span
from .context import PreparedContext
from .loop import Ending, Run
from .tree import RunTree

_REPL_NAME = re.compile(r"<repl-\d+>")


class ProgramRun(Run):
    """One run of a user's program: no root model, one code step, the same gate and budget."""

    def __init__(self, tree: RunTree, context: PreparedContext, code: str,
                 name: str = "<program>") -> None:
        super().__init__(tree, context, f"program {name}")
        self.code = code
        self.name = name

    async def _loop(self, worker: Worker, run_span: Span, task: str) -> Ending:
        span = self.tree.trace.start("iteration", "program", run_span, program=self.name)
        self.state.iterations = 1
        step = await self._run_code(worker, self.code, span, 1)
        answer = program_answer(step)
        if answer is not None:
            self.state.partial = answer
        error = step.error or step.lost_state
        if error:
            message = (f"the program {self.name} failed:\n"
                       f"{_REPL_NAME.sub(self.name, error).rstrip()}")
            span.finish(error=message)
            return Ending("error", error=message)
        span.finish(final_answer=answer)
        return Ending("success", answer=answer or "")


def program_answer(step: StepResult) -> str | None:
    """What the program gave as its answer: FINAL(x), FINAL_VAR, or `answer["content"]`."""
    if step.final is not None and "value" in step.final:
        return str(step.final["value"])
    content = step.answer.get("content")
    if content not in (None, ""):
        return str(content)
    return None
