"""Natural-looking filler prose, generated deterministically from a seeded `random.Random`.

A small grammar over built-in word lists writes varied sentences grouped into paragraphs, so a
haystack reads like plain narrative rather than repeated lorem ipsum. No files, no downloads.
"""

from __future__ import annotations

import hashlib
import random

SUBJECTS = (
    "the old ferryman", "a young engineer", "my grandmother", "the village council",
    "the night nurse", "a travelling salesman", "the harbour master", "our neighbour",
    "the schoolteacher", "a retired sailor", "the baker's daughter", "the new apprentice",
    "the station clerk", "a quiet librarian", "the farmer from the valley", "the two brothers",
    "the choir", "a tired surveyor", "the mayor's secretary", "the carpenter",
    "the youngest of the cousins", "a stranger in a grey coat", "the gardener", "the ship's cook",
    "the museum guard", "an elderly beekeeper", "the postman", "the weaver", "the fishermen",
    "the innkeeper", "a woman with a red umbrella", "the clockmaker", "the shepherd",
)
OBJECTS = (
    "the broken lantern", "a letter to the mayor", "the wooden crates", "the autumn harvest",
    "an old map of the coast", "the leaking roof", "a basket of apples", "the garden wall",
    "the accounts of the mill", "a pair of muddy boots", "the chapel bell", "the fishing nets",
    "a jar of honey", "the winter firewood", "the faded photographs", "the iron gate",
    "a song about the river", "the long table in the hall", "a small blue boat", "the oak tree",
    "the recipe for plum cake", "the tickets for the evening train", "a stack of newspapers",
    "the key to the cellar", "the wool for the blankets", "a cracked teapot", "the bicycle",
    "the plans for the new bridge", "a box of candles", "the kitchen shelves", "the sheep pen",
)
PLACES = (
    "by the harbour", "behind the church", "in the market square", "at the edge of the forest",
    "near the old mill", "on the hill above the town", "in the back room of the inn",
    "along the river path", "at the railway station", "in the school yard", "under the bridge",
    "beside the lighthouse", "in the orchard", "at the crossroads", "in the cold attic",
    "on the north road", "by the frozen pond", "in the workshop", "on the village green",
)
TIMES = (
    "Early that morning", "Late in the afternoon", "On the first day of spring",
    "After the long rain", "Just before supper", "During the harvest festival",
    "Some years later", "On a windy Tuesday", "When the snow finally melted", "At dawn",
    "In the middle of the night", "The following week", "Every Sunday", "Long ago",
    "That summer", "By the end of October", "Once the market had closed",
)
INTRANSITIVE = (
    ("walked", "walked"), ("waited", "waited"), ("laughed", "laughed"), ("argued", "argued"),
    ("rested", "rested"), ("sang", "sung"), ("hurried", "hurried"), ("wandered", "wandered"),
    ("listened", "listened"), ("slept", "slept"), ("worked", "worked"), ("returned", "returned"),
    ("hesitated", "hesitated"), ("whistled", "whistled"), ("stayed", "stayed"),
)
TRANSITIVE = (
    ("repaired", "repaired"), ("carried", "carried"), ("painted", "painted"), ("found", "found"),
    ("sold", "sold"), ("built", "built"), ("mended", "mended"), ("counted", "counted"),
    ("moved", "moved"), ("measured", "measured"), ("borrowed", "borrowed"), ("copied", "copied"),
    ("cleaned", "cleaned"), ("opened", "opened"), ("packed", "packed"), ("hid", "hidden"),
    ("wrote", "written"), ("lost", "lost"), ("polished", "polished"), ("guarded", "guarded"),
    ("forgot", "forgotten"), ("shared", "shared"), ("checked", "checked"), ("wrapped", "wrapped"),
)
ADVERBS = (
    "slowly", "quietly", "happily", "carefully", "without a word", "for a long time",
    "once again", "with great patience", "as usual", "in silence", "almost cheerfully",
    "for hours", "until dark", "more than once", "with some reluctance",
)
ADJECTIVES = (
    "quiet", "strange", "gentle", "honest", "stubborn", "patient", "ordinary", "curious",
    "careful", "lonely", "cheerful", "difficult", "simple", "peculiar", "restless", "modest",
)
ABSTRACTS = (
    "comfort", "pride", "patience", "freedom", "sadness", "hope", "order", "courage",
    "habit", "luck", "kindness", "memory", "silence", "trust", "doubt",
)
GERUNDS = ("mending", "counting", "carrying", "painting", "repairing", "sorting", "cleaning")
TOWNS = (
    "the village", "the town", "the valley", "the parish", "the harbour district",
    "the old quarter", "the county",
)
CONNECT = ("Meanwhile", "Afterwards", "Of course", "Still", "Even so", "In the end", "Later")

TEMPLATES = (
    "{time}, {s} {vt} {o} {p}.",
    "{S} {vi} {adv} while {s2} {vt} {o}.",
    "Nobody in {town} remembered why {s} had {vtp} {o}.",
    "It was {adj} work, but {s} {vt} {o} anyway.",
    "{S} said that {o} belonged {p}.",
    "By evening {s} had {vtp} {o} and {vi} {adv}.",
    "There is a {adj} kind of {abs} in {ger} {o}, {s} thought.",
    "{S} {vt} {o}, then {vt2} {o2}.",
    "{conn}, {s} {vi} {p}.",
    "{time}, {s} and {s2} {vi} {adv} {p}.",
    "Some people in {town} said {s} was {adj}, and perhaps that was true.",
    "{S} never {vt} {o} again.",
    "{time}, the weather turned, and {s} {vi} {p}.",
    "When {s} {vi}, {s2} {vt} {o} {adv}.",
)


def rng_for(*parts: object) -> random.Random:
    """A `random.Random` seeded from `parts`, identical across runs and Python processes."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def sentence(rng: random.Random) -> str:
    """One sentence from the grammar."""
    s, s2 = rng.sample(SUBJECTS, 2)
    o, o2 = rng.sample(OBJECTS, 2)
    vt, vt2 = rng.sample(TRANSITIVE, 2)
    text = rng.choice(TEMPLATES).format(
        time=rng.choice(TIMES), s=s, S=_cap(s), s2=s2, o=o, o2=o2, p=rng.choice(PLACES),
        vt=vt[0], vtp=vt[1], vt2=vt2[0], vi=rng.choice(INTRANSITIVE)[0],
        adv=rng.choice(ADVERBS), adj=rng.choice(ADJECTIVES), abs=rng.choice(ABSTRACTS),
        ger=rng.choice(GERUNDS), town=rng.choice(TOWNS), conn=rng.choice(CONNECT),
    )
    return _cap(text)


def prose(rng: random.Random, chars: int) -> list[str]:
    """Sentences of filler prose totalling at least `chars` characters (joined by spaces).

    Paragraph breaks are sentences ending in a blank line ("\\n\\n"), every 4 to 9 sentences.
    """
    out: list[str] = []
    total = 0
    left_in_paragraph = rng.randint(4, 9)
    while total < chars:
        text = sentence(rng)
        left_in_paragraph -= 1
        if left_in_paragraph == 0:
            text += "\n\n"
            left_in_paragraph = rng.randint(4, 9)
        else:
            text += " "
        out.append(text)
        total += len(text)
    return out


SYLLABLES = (
    "ar", "bel", "cor", "dan", "el", "fen", "gar", "hol", "is", "jor", "kel", "lan", "mor",
    "nev", "or", "pel", "quin", "ros", "sal", "tor", "ul", "ven", "wick", "yar", "zen", "bran",
    "cal", "dor", "mir", "thal", "vos", "ard", "ley", "mont",
)


def invented_name(rng: random.Random, parts: int = 2) -> str:
    """A pronounceable made-up proper name such as "Belmora", never a real word on purpose."""
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()
