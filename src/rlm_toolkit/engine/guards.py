"""Checks on a final answer and a reply that catch the usual failures of small models:
a number that was never read from the data, and a reply that copies the prompt back.

Each check is a pure function returning the feedback to send, or None when all is well.
(Assigning to `context` is undone by the REPL itself, which restores protected names.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
#: Numbers this short are too common to prove anything (list indexes, "top 3").
MIN_DIGITS = 2
#: A reply line this long, found verbatim in the prompt, counts as copied.
COPY_LINE_CHARS = 40


def numbers(text: str) -> list[str]:
    """The numbers written in `text`, thousands separators removed, at least MIN_DIGITS long."""
    found = (m.group(0).replace(",", "").rstrip(".") for m in _NUMBER.finditer(text))
    return [n for n in found if sum(c.isdigit() for c in n) >= MIN_DIGITS]


def unsupported_numbers(answer: str, code: str, seen: Iterable[str], source: str) -> list[str]:
    """Numbers in `answer` that the model typed itself and never saw.

    A number counts as seen when it occurs in the source data or in any output the model was
    shown. A number that comes from code (absent from the code the model wrote) was computed,
    so it counts as supported too: only guessed literals are caught.
    """
    seen_text = "\n".join(seen)
    flat_code = code.replace(",", "").replace("_", "")
    guessed = []
    for number in numbers(answer):
        if code and number not in flat_code:
            continue  # computed by the code, not typed by the model
        if _occurs(number, source) or _occurs(number, seen_text):
            continue
        guessed.append(number)
    return guessed


def _occurs(number: str, text: str) -> bool:
    if number in text:
        return True
    if len(number) > 3 and number.isdigit():  # 12345 may be written 12,345
        grouped = f"{int(number):,}"
        return grouped in text
    return False


def copies_prompt(reply: str, prompt: str) -> bool:
    """True when most of the reply's long lines are copied verbatim from the prompt."""
    lines = [ln.strip() for ln in reply.splitlines() if len(ln.strip()) >= COPY_LINE_CHARS]
    if not lines:
        return False
    copied = sum(1 for ln in lines if ln in prompt)
    return copied * 2 >= len(lines) and copied >= 2


GUESSED_NUMBER = (
    "Your answer contains {numbers}, which appear{s} in no output you have seen and not in "
    "the data. Do not guess: print the evidence with code (grep or a slice of `context`), "
    "then answer with what the output shows. If the data does not contain the answer, "
    "answer FINAL(NOT_FOUND)."
)
COPIED_PROMPT = (
    "You repeated the instructions instead of working. Write one short ```repl block that "
    "looks at `context`, for example: print(grep(r\"keyword\")[:5])"
)


REPEATED_CODE = (
    "You already ran exactly this code and saw its output above; running it again changes "
    "nothing. Try something different: a shorter or singular search word, another pattern, "
    "or print a slice such as context[:1500]."
)


def code_key(code: str) -> str:
    """Code with blank lines and trailing spaces dropped, to recognise a repeated block."""
    return "\n".join(ln.rstrip() for ln in code.strip().splitlines() if ln.strip())


def guessed_number_feedback(guessed: list[str]) -> str:
    """The message for an answer with guessed numbers."""
    shown = ", ".join(guessed[:5])
    return GUESSED_NUMBER.format(numbers=shown, s="" if len(guessed) > 1 else "s")
