"""Grounded answers: citations into the source, their checks, the verifier, honest "not found".

Where hallucination is handled. The engine checks every citation a final answer gives
(`result.citations`, `result.grounded`) and, with `RLMConfig(verify=True)`, asks a verifier
whether the cited text supports the answer; this package is the public face of that, plus
the `grounded_answer` pattern (draft, check against the data, fix) and the citation report.

    result = rlm.run(context, query, config=RLMConfig(verify=True))
    print(format_citations(result))
"""

from ..engine.citations import Citation, check_citations, locate, place_in_parent
from ..engine.grounding import (
    SubCallJudge,
    Verdict,
    VerifyRequest,
    is_not_found,
    judge_prompt,
    parse_verdict,
)
from ..engine.ports import Verifier
from .pattern import grounded_answer
from .report import format_citations

__all__ = [
    "Citation", "SubCallJudge", "Verdict", "Verifier", "VerifyRequest", "check_citations",
    "format_citations", "grounded_answer", "is_not_found", "judge_prompt", "locate",
    "parse_verdict", "place_in_parent",
]
