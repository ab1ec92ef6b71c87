"""S-NIAH: one needle ("the special magic number for KEY is NNNNNNN") in a long haystack.

As in RULER's single-needle task, with distractor needles for other keys so that grepping for
"magic number" alone does not answer the question.
"""

from __future__ import annotations

from .task import Task
from .text import prose, rng_for

KEY_ADJECTIVES = (
    "amber", "silent", "crimson", "hollow", "frosty", "golden", "rapid", "velvet", "northern",
    "bitter", "bright", "distant", "gentle", "hidden", "lunar", "misty", "polar", "rusty",
    "scarlet", "sturdy", "tidal", "wild", "windy", "ashen",
)
KEY_NOUNS = (
    "falcon", "orchard", "lantern", "harbor", "meadow", "compass", "glacier", "otter", "quarry",
    "thistle", "beacon", "canyon", "ember", "fjord", "heron", "island", "juniper", "kettle",
    "lagoon", "marble", "nectar", "pebble", "raven", "saddle",
)
DISTRACTORS = 5


def needle(key: str, number: str) -> str:
    """The needle sentence for `key`."""
    return f"The special magic number for {key} is {number}. "


def generate_sniah(tokens: int, seed: int) -> Task:
    """A single-needle task of about `tokens` tokens (characters / 4)."""
    rng = rng_for("sniah", tokens, seed)
    combos = [f"{a}-{n}" for a in KEY_ADJECTIVES for n in KEY_NOUNS]
    keys = rng.sample(combos, DISTRACTORS + 1)
    numbers: list[str] = []
    while len(numbers) < len(keys):
        value = str(rng.randint(1_000_000, 9_999_999))
        if value not in numbers:
            numbers.append(value)
    needles = [needle(k, v) for k, v in zip(keys, numbers, strict=True)]
    filler = prose(rng, max(0, tokens * 4 - sum(len(n) for n in needles)))
    slots = rng.sample(range(len(filler) + 1), len(needles))
    # Insert from the last slot backwards so earlier slot indices stay valid.
    for slot, text in sorted(zip(slots, needles, strict=True), reverse=True):
        filler.insert(slot, text)
    context = "".join(filler)
    key, number = keys[0], numbers[0]
    offset = context.index(needles[0])
    return Task(
        id=f"sniah-{tokens}-s{seed}",
        kind="sniah",
        tokens=tokens,
        seed=seed,
        context=context,
        question=(
            f"What is the special magic number for {key} mentioned in the provided text? "
            "Answer with the number only."
        ),
        gold=number,
        answer_type="needle",
        verify={
            "key": key,
            "needle": needles[0].strip(),
            "needle_offset": offset,
            "depth": round(offset / max(1, len(context)), 4),
            "distractors": [
                {"key": k, "number": v, "offset": context.index(t)}
                for k, v, t in zip(keys[1:], numbers[1:], needles[1:], strict=True)
            ],
        },
    )
