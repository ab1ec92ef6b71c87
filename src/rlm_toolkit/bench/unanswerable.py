"""Unanswerable: an S-NIAH haystack whose asked-for needle is absent, with near misses.

The question is worded exactly as S-NIAH's, so nothing in it gives the absence away. The
haystack holds needles for keys that share a word with the asked key ("amber-falcon" asked;
"amber-harbor" and "misty-falcon" present), so a reader that matches loosely finds a number
to report. A method is right when it abstains (says the text does not give the number).
"""

from __future__ import annotations

from .sniah import KEY_ADJECTIVES, KEY_NOUNS, needle
from .task import Task
from .text import prose, rng_for

NEAR_MISSES = 4
OTHERS = 2


def generate_unanswerable(tokens: int, seed: int) -> Task:
    """A needle question whose needle is not in the text, at about `tokens` tokens."""
    rng = rng_for("unanswerable", tokens, seed)
    adjective, noun = rng.choice(KEY_ADJECTIVES), rng.choice(KEY_NOUNS)
    key = f"{adjective}-{noun}"
    near = [f"{adjective}-{n}" for n in rng.sample([n for n in KEY_NOUNS if n != noun], 2)]
    near += [f"{a}-{noun}" for a in rng.sample([a for a in KEY_ADJECTIVES if a != adjective],
                                               NEAR_MISSES - 2)]
    others = [f"{a}-{n}" for a, n in zip(
        rng.sample([a for a in KEY_ADJECTIVES if a != adjective], OTHERS),
        rng.sample([n for n in KEY_NOUNS if n != noun], OTHERS), strict=True)]
    keys = near + [k for k in others if k not in near]
    numbers: list[str] = []
    while len(numbers) < len(keys):
        value = str(rng.randint(1_000_000, 9_999_999))
        if value not in numbers:
            numbers.append(value)
    needles = [needle(k, v) for k, v in zip(keys, numbers, strict=True)]
    filler = prose(rng, max(0, tokens * 4 - sum(len(n) for n in needles)))
    slots = rng.sample(range(len(filler) + 1), len(needles))
    for slot, text in sorted(zip(slots, needles, strict=True), reverse=True):
        filler.insert(slot, text)
    context = "".join(filler)
    assert key not in context  # the asked key is absent by construction
    return Task(
        id=f"unanswerable-{tokens}-s{seed}",
        kind="unanswerable",
        tokens=tokens,
        seed=seed,
        context=context,
        question=(
            f"What is the special magic number for {key} mentioned in the provided text? "
            "Answer with the number only."
        ),
        gold=None,
        answer_type="abstain",
        verify={
            "key": key,
            "near_misses": [{"key": k, "number": v, "offset": context.index(needle(k, v))}
                            for k, v in zip(keys, numbers, strict=True)],
        },
    )
