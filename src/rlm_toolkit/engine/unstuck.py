"""Getting a stuck run moving: what to show when a small model repeats itself.

When a step's code repeats, or its output is the same as before, twice, a nudge alone does
not change a small model's course. The message built here shows what it has not tried: the
structure of the context (repeated line patterns with counts and a sample) and the helpers
its code has not used. On the last iterations it asks for the best answer from what was
found instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..sandbox.worker.helpers import item_patterns
from .context import ITEM_SCAN_CHARS

#: Repeats (same code or same output) that count as stuck.
STUCK_AFTER = 2
#: With this many iterations left or fewer, a stuck run is asked for its best answer.
LAST_ITERATIONS = 2
#: Helpers worth suggesting, with how to use each.
HELPERS = {
    "item_patterns": "item_patterns() shows the repeated lines and their counts",
    "find_items": "find_items() returns every repeated item (e.g. each 'Review N:')",
    "classify": "classify(items, labels) labels each item; .count(label) counts them",
    "llm_map": "llm_map(items, question) asks the question of each item",
    "context[": "print(context[:1500]) shows how the text begins",
    "llm(": "llm(prompt) reads a piece of text you put in the prompt",
}


def used_helpers(codes: Iterable[str]) -> set[str]:
    """The helpers (keys of HELPERS) that some code already called."""
    joined = "\n".join(codes)
    return {name for name in HELPERS
            if re.search(re.escape(name) + (r"" if name.endswith(("[", "(")) else r"\s*\("),
                         joined)}


def structure(source: str) -> str:
    """The context's repeated line patterns in a few lines, or its size and first line."""
    patterns = item_patterns(source[:ITEM_SCAN_CHARS])
    if patterns:
        scope = ("" if len(source) <= ITEM_SCAN_CHARS
                 else f" (in the first {ITEM_SCAN_CHARS:,} of {len(source):,} characters)")
        return "\n".join(f"- {p}" for p in patterns) + scope
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return f"- no repeated line pattern; {len(source):,} characters, first line: {first[:80]!r}"


def unstuck_message(source: str, codes: Iterable[str], left: int) -> str:
    """What a stuck run is told: the last iterations ask for an answer, earlier ones show
    the context's structure and the unused helpers."""
    if left <= LAST_ITERATIONS:
        return ("You are repeating yourself and few steps are left. Do not search again: "
                "answer now with the best answer the outputs above support, "
                "FINAL(answer), or FINAL(NOT_FOUND) if they show nothing.")
    unused = [hint for name, hint in HELPERS.items() if name not in used_helpers(codes)]
    parts = ["You are repeating yourself; the same search will not find more. "
             "The text is built like this:", structure(source)]
    if unused:
        parts.append("You have not tried:\n" + "\n".join(f"- {hint}" for hint in unused))
    return "\n".join(parts)
