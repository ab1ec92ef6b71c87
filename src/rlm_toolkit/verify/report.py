"""The citations of a result as text: numbered, with line numbers and a short excerpt."""

from __future__ import annotations

from ..engine.result import RLMResult


def format_citations(result: RLMResult, excerpt_chars: int = 80) -> str:
    """`[1] line 3 (chars 40-82): "excerpt"` per citation, then what the checks concluded."""
    lines: list[str] = []
    for i, c in enumerate(result.citations, 1):
        where = f"line {c.line}" if c.line is not None else "not in the data"
        if c.valid:
            where += f" (chars {c.start}-{c.end}"
            where += f", key {'/'.join(str(k) for k in c.path)})" if c.path else ")"
        mark = f"  INVALID: {c.reason}" if not c.valid else (
            "  (found by the host: the answer's own words)" if c.auto else "")
        lines.append(f"[{i}] {where}: \"{c.excerpt(excerpt_chars)}\"{mark}")
    if not result.citations:
        lines.append("(no citations)")
    if result.evidence_code and not result.citations:
        lines.append("evidence: computed by the run's code (result.evidence_code)")
    if not result.found:
        lines.append("the data does not say (result.found is False)")
    if result.verdict is not None:
        who = "verifier" if result.verdict.judged else "check"
        lines.append(f"{who}: {result.verdict.support}: {result.verdict.reason}")
    state = {True: "grounded", False: "UNVERIFIED", None: "not verified"}[result.grounded]
    lines.append(state)
    return "\n".join(lines)
