"""The grounded-answer pattern: draft an answer, check it against the data, fix it.

Built on the public API only: one run drafts a cited answer, the verifier judges the draft
against its citations, and when it is not supported a second run is told why and answers
again. `RLMConfig(verify=True)` does the same inside one run; this pattern keeps the draft
and the fix as separate runs (each with its own trace), for programs that want both.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..engine import RLM, RLMConfig
from ..engine.result import RLMResult

FIX_QUERY = (
    "{question}\n\nA first answer was {draft!r}, and a check against the data found: "
    "{reason}. Find the evidence with code, then answer with FINAL(value, cite=[...]) citing "
    "the matches it rests on, or FINAL(NOT_FOUND) if the data does not contain the answer."
)


async def agrounded_answer(rlm: RLM, context: Any, question: str, *,
                           config: RLMConfig | None = None) -> RLMResult:
    """Draft, check, fix. Returns the draft when it was verified, else the fixed answer.

    The result's `extra["grounded_answer"]` records the draft, its verdict and whether a fix
    was run; `result.grounded` is the verdict on the answer returned.
    """
    cfg = (config or rlm.config).with_(verify=True)
    draft = await rlm.arun(context, question, config=cfg)
    record: dict[str, Any] = {"draft": draft.answer, "draft_grounded": draft.grounded,
                              "fixed": False}
    if draft.grounded is not False or not draft.ok:
        draft.extra["grounded_answer"] = record
        return draft
    reason = draft.verdict.reason if draft.verdict else "a citation does not match the data"
    fixed = await rlm.arun(context, FIX_QUERY.format(question=question, draft=draft.answer,
                                                     reason=reason), config=cfg)
    record["fixed"] = True
    fixed.extra["grounded_answer"] = record
    return fixed


def grounded_answer(rlm: RLM, context: Any, question: str, *,
                    config: RLMConfig | None = None) -> RLMResult:
    """The synchronous `agrounded_answer` (not inside a running event loop)."""

    async def once() -> RLMResult:
        try:
            return await agrounded_answer(rlm, context, question, config=config)
        finally:
            await rlm.aclose()

    return asyncio.run(once())
