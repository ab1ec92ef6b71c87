"""A REPL kept open across top-level runs (a session's): the hook the engine offers above it.

`RLM.arun(..., keep=kept)` runs on `kept.worker` (started by the first run, never closed by
a run), reuses `kept.prepared` (the context encoded once), shows `kept.history` before the
task, and runs `kept.setup` code once when the worker is first started (restored variables).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..sandbox import Worker
from .context import PreparedContext

#: Run before each question on a kept REPL: the previous question's answer must not count.
RESET_ANSWER = 'answer = {"content": "", "ready": False}'


@dataclass
class KeptRepl:
    """The worker, context, history and start-up code a session carries between runs."""

    worker: Worker | None = None
    prepared: PreparedContext | None = None
    history: str = ""
    setup: list[str] = field(default_factory=list)

    def history_block(self) -> str:
        """The history as shown to the root model before the task ("" when there is none)."""
        if not self.history:
            return ""
        return ("Earlier questions and answers in this session (the REPL still holds every "
                "variable you defined then; SHOW_VARS() lists them):\n" + self.history + "\n\n")

    async def close(self) -> None:
        """Stop the worker, if one was started."""
        worker, self.worker = self.worker, None
        if worker is not None:
            await worker.close()
