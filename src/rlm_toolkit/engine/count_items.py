"""A count over the text's items that never looked at the items ("grep found 0, so FINAL(0)").

A "how many of the <items> are X?" answer from code that never read the items one by one,
while the text holds lines of that item ("Review N:"), is refused once in small-model mode;
the host then runs `CountPlan.program` (find the items, `classify` them by X and its opposite)
as a step and shows the model its output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..sandbox.worker.helpers import item_patterns
from .context import ITEM_SCAN_CHARS
from .guards import answer_kind

#: Code that looked at the items one by one (a count from it is trusted).
_ITEM_HELPERS = re.compile(r"\b(find_items|classify|llm_map|llm_batch|llm|rlm_query)\s*\(")
_QUALIFIER = re.compile(r"\b(?:are|were|is|was)\s+(?:rated\s+|marked\s+|labell?ed\s+)?"
                        r"(?P<target>(?:not\s+)?[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2}?)\s*[?.]",
                        re.IGNORECASE)
#: The label set against the target: its opposite where it has a usual one, else "not X".
OPPOSITES = {"positive": "negative", "negative": "positive", "good": "bad", "bad": "good",
             "late": "on time", "on time": "late", "open": "closed", "closed": "open",
             "true": "false", "false": "true", "resolved": "unresolved",
             "unresolved": "resolved", "favourable": "unfavourable",
             "favorable": "unfavorable", "critical": "not critical"}


#: Words after "are" that say where the items are, not what they are.
_NOT_TARGETS = frozenset(("there", "here", "mentioned", "listed", "given", "shown", "written",
                          "present", "included", "in", "spread", "found", "described", "named"))


def count_target(query: str) -> str | None:
    """What a "how many ... are X?" question counts ("negative"), or None."""
    if answer_kind(query) != ("number", ""):
        return None
    m = _QUALIFIER.search(query)
    if m is None:
        return None
    target = m.group("target").lower()
    return None if target.split()[0] in _NOT_TARGETS else target


def labels_for(target: str) -> list[str]:
    """The labels to classify items by: the target and its opposite (or "not <target>")."""
    if target.startswith("not "):
        return [target, target[4:]]
    return [target, OPPOSITES.get(target, f"not {target}")]


@dataclass(frozen=True)
class CountPlan:
    """A count over the text's items that the host runs for the model: `program` labels and
    counts the items; `message(output)` is what the model is told with its output."""

    program: str
    count: int
    label: str
    target: str

    def message(self, output: str) -> str:
        """The feedback: why the count was refused, the program the host ran, its output."""
        return UNCOUNTED.format(count=self.count, label=self.label, program=self.program,
                                output=output.strip() or "(nothing printed)",
                                target=self.target)


def uncounted_items(query: str, source: str, codes: Iterable[str]) -> CountPlan | None:
    """The plan for a "how many of the <items> are X?" answer that came from code that never
    looked at the items (`find_items`, `classify`, `llm_map`, ...) while the text holds lines
    of that item ("Review N:"); None when the count may stand."""
    target = count_target(query)
    if target is None or any(_ITEM_HELPERS.search(code) for code in codes):
        return None
    words = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", query)}
    patterns = item_patterns(source[:ITEM_SCAN_CHARS])
    for rank, pattern in enumerate(patterns):
        head = pattern.label.split()[0].rstrip(":").lower()
        if len(head) < 3 or not any(w.startswith(head) or head.startswith(w) for w in words):
            continue
        find = "find_items()" if rank == 0 else f"find_items(pattern={pattern.regex!r})"
        labels = labels_for(target)
        program = (f"items = {find}\nlabels = classify(items, {labels!r})\n"
                   f"print(len(items), 'items;', labels.count({target!r}), 'are', {target!r})")
        return CountPlan(program, pattern.count, pattern.label, target)
    return None


UNCOUNTED = (
    "Your count does not come from the items themselves: the text holds {count} items that "
    "start like {label!r}, and your code never read them one by one. The host labelled each "
    "item with this code (its variables stay in the REPL):\n```repl\n{program}\n```\n"
    "{output}\nAnswer with the number of {target!r} items that this output "
    "shows, e.g. FINAL(labels.count({target!r})), unless you find it wrong."
)
