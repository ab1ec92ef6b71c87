"""Multi-hop: two facts far apart in a long document must be joined to answer.

Fact one says which vault an artifact was moved to; fact two, far away, says which city that
vault is in. Distractor artifacts, vaults and cities make each hop necessary. All names are
invented, so the answer cannot come from the model's memory.
"""

from __future__ import annotations

from .task import Task
from .text import invented_name, prose, rng_for

MATERIALS = ("Copper", "Ivory", "Jade", "Silver", "Obsidian", "Amber", "Bronze", "Crystal",
             "Ebony", "Golden", "Pewter", "Marble")
THINGS = ("Astrolabe", "Codex", "Chalice", "Compass", "Lute", "Mask", "Atlas", "Hourglass",
          "Crown", "Lantern", "Sextant", "Tapestry")
BUILDINGS = ("Archive", "Library", "Vault", "Depository", "Treasury", "Athenaeum")
DISTRACTORS = 4


def fact_moved(artifact: str, vault: str, year: int) -> str:
    return f"In {year}, the {artifact} was moved to the {vault} for safekeeping. "


def fact_city(vault: str, city: str) -> str:
    return f"The {vault} stands in the city of {city}. "


def generate_multihop(tokens: int, seed: int) -> Task:
    """A two-hop question over a document of about `tokens` tokens."""
    rng = rng_for("multihop", tokens, seed)
    n = DISTRACTORS + 1
    artifacts = [f"{m} {t}" for m, t in zip(rng.sample(MATERIALS, n), rng.sample(THINGS, n),
                                           strict=True)]
    vaults: list[str] = []
    cities: list[str] = []
    while len(vaults) < n:
        vault = f"{invented_name(rng)} {rng.choice(BUILDINGS)}"
        if vault not in vaults:
            vaults.append(vault)
    while len(cities) < n:
        city = invented_name(rng, 3)
        if city not in cities and all(city not in v for v in vaults):
            cities.append(city)
    years = [rng.randint(1820, 1990) for _ in range(n)]
    hop1 = [fact_moved(a, v, y) for a, v, y in zip(artifacts, vaults, years, strict=True)]
    hop2 = [fact_city(v, c) for v, c in zip(vaults, cities, strict=True)]
    filler = prose(rng, max(0, tokens * 4 - sum(map(len, hop1 + hop2))))
    slots = len(filler) + 1
    # The gold facts sit far apart: one in the first 40%, the other in the last 40%.
    early = rng.randrange(int(slots * 0.05), max(int(slots * 0.05) + 1, int(slots * 0.4)))
    late = rng.randrange(int(slots * 0.6), max(int(slots * 0.6) + 1, int(slots * 0.95)))
    first, second = (early, late) if rng.random() < 0.5 else (late, early)
    taken = {first, second}
    placements = [(first, hop1[0]), (second, hop2[0])]
    for text in hop1[1:] + hop2[1:]:
        slot = rng.randrange(slots)
        while slot in taken:
            slot = rng.randrange(slots)
        taken.add(slot)
        placements.append((slot, text))
    for slot, text in sorted(placements, reverse=True):
        filler.insert(slot, text)
    context = "".join(filler)
    return Task(
        id=f"multihop-{tokens}-s{seed}",
        kind="multihop",
        tokens=tokens,
        seed=seed,
        context=context,
        question=(
            f"In which city is the {artifacts[0]} kept today? Answer with the city name only."
        ),
        gold=cities[0],
        answer_type="choice",
        choices=sorted(cities),
        verify={
            "artifact": artifacts[0],
            "bridge": vaults[0],
            "facts": [
                {"text": hop1[0].strip(), "offset": context.index(hop1[0])},
                {"text": hop2[0].strip(), "offset": context.index(hop2[0])},
            ],
            "distractors": [
                {"artifact": a, "vault": v, "city": c}
                for a, v, c in zip(artifacts[1:], vaults[1:], cities[1:], strict=True)
            ],
        },
    )
