"""The answers a question allows when it lists them ("Answer with exactly one of: more
common than, less common than, same frequency as.", "Answer yes or no."), and the check that
a final answer gives one of them.

A small model handed a table of counts for a comparison answered with a count; a question
that lists its answers makes that mistake cheap to catch.
"""

from __future__ import annotations

import re

_LISTED = re.compile(
    r"\b(?:answer|reply|respond)\s+(?:only\s+)?with\s+(?:exactly\s+|only\s+)?one\s+of"
    r"(?:\s+these|\s+the\s+following)?\s*:\s*(?P<list>[^\n?]+)",
    re.IGNORECASE)
_YES_NO = re.compile(r"\b(?:answer|reply|respond)\s+(?:only\s+)?(?:with\s+)?"
                     r"['\"]?yes['\"]?\s+or\s+['\"]?no['\"]?\b", re.IGNORECASE)
MAX_CHOICES = 12
MAX_CHOICE_WORDS = 6


def listed_choices(query: str) -> list[str] | None:
    """The answers the question lists, in its order; None when it lists none."""
    if _YES_NO.search(query):
        return ["yes", "no"]
    m = _LISTED.search(query)
    if m is None:
        return None
    raw = re.split(r"\.(?:\s|$)", m.group("list"), maxsplit=1)[0]
    quoted = [a or b for a, b in re.findall(r"'([^']+)'|\"([^\"]+)\"", raw)]
    names = quoted if len(quoted) >= 2 else \
        [p.strip() for p in re.split(r",|\s+or\s+", raw)]
    names = [re.sub(r"^(?:or|and)\s+", "", n).strip(" '\"") for n in names]
    names = [n for n in names if n]
    if 2 <= len(names) <= MAX_CHOICES and all(len(n.split()) <= MAX_CHOICE_WORDS for n in names):
        return names
    return None


def phrases_in(text: str, phrases: list[str]) -> list[str]:
    """The phrases `text` holds as whole words (any case), in the order it names them."""
    found = [(m.start(), phrase) for phrase in phrases
             if (m := re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE))]
    return [phrase for _, phrase in sorted(found)]


def outside_choices(query: str, answer: str, seen: str = "") -> str | None:
    """Feedback when the question lists its answers and `answer` gives none of them, or
    several; None when it gives exactly one, or the question lists none. The lines of `seen`
    (the output the model was shown) that give exactly one of them are quoted."""
    choices = listed_choices(query)
    if choices is None or len(phrases_in(answer, choices)) == 1:
        return None
    told = NOT_A_CHOICE.format(choices=", ".join(choices), answer=answer.strip()[:80])
    lines = [line.strip() for line in seen.splitlines()
             if len(line.strip()) <= MAX_QUOTED_CHARS and len(phrases_in(line, choices)) == 1]
    if lines:
        told += SHOWN.format(lines="\n".join(lines[-MAX_QUOTED_LINES:]))
    return told


#: The output lines quoted with the feedback: the last few, each short.
MAX_QUOTED_LINES = 3
MAX_QUOTED_CHARS = 200
NOT_A_CHOICE = (
    "The question asks for exactly one of: {choices}. FINAL({answer}) is not one of them. "
    "Answer with FINAL(...) holding the one of them that the output you were shown supports."
)
SHOWN = " The output said:\n{lines}"
