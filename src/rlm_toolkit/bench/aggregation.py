"""Semantic aggregation: how many of the reviews spread through a long text are of one label.

Reviews (`Review 17: ...`, each its own paragraph) sit between paragraphs of filler prose.
Every review is positive or negative, but its wording never says so: the verdict is told in
varied phrases ("Save your money.", "I could not fault the breakfast."), some with negation
("not bad at all" is praise, "not good at all" is not), and some reviews add a minor remark of
the other polarity. Words such as "good", "bad", "recommend" or "stars" occur in both kinds,
so counting a keyword does not give the answer: each review must be read (for example with
`find_items()` and `classify(items, ["positive", "negative"])` in the REPL). The number of
reviews grows with the size (20 at 8K tokens, 40 at 32K). Scored 0.75 ** |gold - answer|.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from .task import Task
from .text import prose, rng_for

LABELS = ("positive", "negative")
ITEM_NOUN = "Review"
MIN_ITEMS, MAX_ITEMS = 5, 200


@dataclass(frozen=True)
class Domain:
    """What the reviews are about: a name, neutral opening sentences and aspects to judge."""

    name: str
    openers: tuple[str, ...]
    aspects: tuple[str, ...]


DOMAINS = (
    Domain("the Lantern Inn",
           ("We stayed two nights in March.", "I booked a room for a family wedding.",
            "I had heard good things about the place.", "We came for a long weekend.",
            "It was our first time there."),
           ("the room", "the breakfast", "the bed", "the welcome at the desk",
            "the view from our window", "the shower", "the dining room")),
    Domain("the Copper Kettle cafe",
           ("I went there for lunch with my sister.", "We stopped in after the market.",
            "I had heard good things about the place.", "We came on a rainy Sunday.",
            "I ordered the set menu."),
           ("the coffee", "the service", "the cake", "the soup", "the table by the window",
            "the bread", "the pot of tea")),
    Domain("the island ferry",
           ("I took the morning crossing.", "We used it to get to the island.",
            "I had heard good things about it.", "We travelled with two children.",
            "I bought a return ticket."),
           ("the crossing", "the crew", "the deck", "the ticket office", "the snack bar",
            "the waiting room", "the boarding")),
    Domain("the Old Mill museum",
           ("We visited during the school holidays.", "I went with my grandfather.",
            "I had heard good things about it.", "We spent an afternoon there.",
            "I went on a weekday morning."),
           ("the exhibition", "the guided tour", "the gift shop", "the guide", "the garden",
            "the audio guide", "the model of the water wheel")),
)

#: One aspect judged; "{x}" is the aspect, "{X}" the aspect at the start of a sentence.
PRAISE = (
    "{X} was first-rate.", "{X} was a real treat.", "{X} could not have been better.",
    "I have nothing but praise for {x}.", "{X} was not bad at all.",
    "{X} was better than we had dared to hope.", "We loved {x}.", "{X} was worth every penny.",
    "I could not fault {x}.", "{X} was a delight.", "{X} put a smile on my face.",
    "{X} was simply wonderful.", "Nobody could complain about {x}.",
    "{X} was as lovely as everyone says.", "I have never enjoyed {x} more.",
)
CRITICISM = (
    "{X} was shoddy.", "{X} was a letdown.", "{X} left a great deal to be desired.",
    "{X} was nowhere near what the pictures promised.", "{X} was, frankly, a disgrace.",
    "I would not wish {x} on anyone.", "{X} was not good at all.", "{X} was dreadful.",
    "{X} was an insult at that price.", "Nobody seemed to care about {x}.",
    "{X} was worse than we had feared.", "{X} was a mess.", "{X} spoiled the day for me.",
    "I have never seen {x} in such a state.",
)
#: The overall verdict; every review ends with one.
PRAISING_VERDICTS = (
    "We will certainly be back.", "I would recommend it to anyone.", "Money well spent.",
    "A delight from start to finish.", "Honestly, I have no complaints.",
    "It was not cheap, but it was worth it.", "I cannot wait to return.",
    "Five stars, without hesitation.", "I would not hesitate to go again.",
    "Everything we could have wished for.",
)
DAMNING_VERDICTS = (
    "Never again.", "I would steer well clear.", "Save your money.", "I want my money back.",
    "We left as soon as we decently could.", "I would not recommend it to anyone.",
    "Disappointing from start to finish.", "One star, and that is generous.",
    "Not worth the trip.", "I wish I had stayed at home.",
)
#: A minor remark of the other polarity, clearly outweighed ("{x}" a different aspect).
SMALL_GRIPES = (
    "My one small gripe is {x}, and even that was fine.",
    "{X} could have been a little better, but it hardly mattered.",
)
SMALL_COMFORTS = (
    "{X} was pleasant enough, but nothing could make up for the rest.",
    "Even {x}, which was fine, could not save it.",
)


def item_count(tokens: int) -> int:
    """How many reviews a task of `tokens` tokens holds: 20 at 8K, 40 at 32K (square root)."""
    return max(MIN_ITEMS, min(MAX_ITEMS, round(20 * math.sqrt(tokens / 8192))))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def review(rng: random.Random, domain: Domain, label: str) -> str:
    """The text of one review of `domain` whose sentiment is `label`, never naming it."""
    praising = label == LABELS[0]
    aspects = rng.sample(domain.aspects, 3)
    judged = aspects[:rng.choice((1, 1, 2))]
    parts = [rng.choice(domain.openers)] if rng.random() < 0.5 else []
    for aspect, template in zip(judged, rng.sample(PRAISE if praising else CRITICISM,
                                                   len(judged)), strict=True):
        parts.append(template.format(x=aspect, X=_cap(aspect)))
    if rng.random() < 0.2:
        aside = rng.choice(SMALL_GRIPES if praising else SMALL_COMFORTS)
        parts.append(aside.format(x=aspects[2], X=_cap(aspects[2])))
    parts.append(rng.choice(PRAISING_VERDICTS if praising else DAMNING_VERDICTS))
    return " ".join(parts)


def generate_aggregation(tokens: int, seed: int) -> Task:
    """A count of positive or negative reviews over about `tokens` tokens of text."""
    rng = rng_for("aggregation", tokens, seed)
    domain = rng.choice(DOMAINS)
    n = item_count(tokens)
    negatives = round(n * rng.uniform(0.25, 0.75))
    labels = [LABELS[1]] * negatives + [LABELS[0]] * (n - negatives)
    rng.shuffle(labels)
    texts: list[str] = []
    for label in labels:
        text = review(rng, domain, label)
        while text in texts:
            text = review(rng, domain, label)
        texts.append(text)
    lines = [f"{ITEM_NOUN} {k}: {text}\n\n" for k, text in enumerate(texts, 1)]
    filler = prose(rng, max(0, tokens * 4 - sum(map(len, lines))))
    # A review is a paragraph of its own: it goes where a paragraph starts.
    starts = [0] + [i + 1 for i, piece in enumerate(filler) if piece.endswith("\n\n")]
    slots = sorted(rng.choice(starts) for _ in lines)
    pieces: list[str] = []
    placed = 0
    for i in range(len(filler) + 1):
        while placed < len(lines) and slots[placed] == i:
            pieces.append(lines[placed])
            placed += 1
        if i < len(filler):
            pieces.append(filler[i])
    context = "".join(pieces)
    asked = rng.choice(LABELS)
    offsets: list[int] = []
    for line in lines:
        offsets.append(context.index(line, offsets[-1] if offsets else 0))
    return Task(
        id=f"aggregation-{tokens}-s{seed}",
        kind="aggregation",
        tokens=tokens,
        seed=seed,
        context=context,
        question=(f"How many of the {n} reviews of {domain.name} spread through this text are "
                  f"{asked}? Answer with a whole number only."),
        gold=labels.count(asked),
        answer_type="number",
        verify={
            "label": asked,
            "labels": list(LABELS),
            "domain": domain.name,
            "counts": {label: labels.count(label) for label in LABELS},
            "items": [{"number": k, "label": label, "offset": offset, "text": line.strip()}
                      for k, (label, offset, line) in enumerate(zip(labels, offsets, lines,
                                                                   strict=True), 1)],
        },
    )
