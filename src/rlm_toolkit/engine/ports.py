"""The engine's seams to the layers above it, as protocols."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .grounding import Ask, Verdict, VerifyRequest


class Memory(Protocol):
    """A long-term memory the run reads before it starts and the REPL's `memory` object uses.

    `rlm_toolkit.memory.HierarchicalMemory` is one; anything with these two methods works.
    """

    def retrieve(self, query: str, k: int = 5) -> object:
        """The `k` memories most relevant to `query`; `str()` of the result is a prompt block."""
        ...

    def add_episode(self, text: str, metadata: dict[str, Any] | None = None) -> object:
        """Store one memory."""
        ...


class Verifier(Protocol):
    """Judges whether an answer's evidence supports it (`RLMConfig(verify=True)`).

    `ask` makes one sub-call to the verify model through the run's budget and trace. The
    default is `rlm_toolkit.engine.grounding.SubCallJudge`; pass another as RLM(verifier=...).
    """

    async def judge(self, request: VerifyRequest, ask: Ask) -> Verdict:
        """The verdict on `request`: supported, partly or not, with a one-line reason."""
        ...
