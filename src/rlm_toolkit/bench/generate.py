"""Task generators by name, and whole suites over kinds, sizes and seeds."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ..errors import ConfigError
from .aggregation import generate_aggregation
from .multihop import generate_multihop
from .oolong import generate_oolong
from .pairs import generate_pairs
from .sniah import generate_sniah
from .task import Task
from .unanswerable import generate_unanswerable

GENERATORS: dict[str, Callable[[int, int], Task]] = {
    "sniah": generate_sniah,
    "oolong": generate_oolong,
    "pairs": generate_pairs,
    "multihop": generate_multihop,
    "unanswerable": generate_unanswerable,
    "aggregation": generate_aggregation,
}
MIN_TOKENS = 512


def generate(kind: str, tokens: int, seed: int) -> Task:
    """One task of `kind` at about `tokens` tokens (characters / 4), fixed by `seed`."""
    if kind not in GENERATORS:
        raise ConfigError(f"unknown task {kind!r}; choose from {', '.join(GENERATORS)}")
    if tokens < MIN_TOKENS:
        raise ConfigError(f"--tokens must be at least {MIN_TOKENS}, got {tokens}")
    return GENERATORS[kind](tokens, seed)


def suite(kinds: Sequence[str], sizes: Sequence[int], seeds: Sequence[int]) -> Iterator[Task]:
    """Tasks for every kind x size x seed, generated lazily (contexts can be megabytes)."""
    for kind in kinds:
        for size in sizes:
            for seed in seeds:
                yield generate(kind, size, seed)


def parse_sizes(text: str) -> list[int]:
    """Comma-separated sizes; "A..B" expands to the powers of two from A to B
    ("2^13..2^20" gives 8192, 16384, ..., 1048576)."""
    sizes: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if ".." in part:
            lo, hi = (parse_size(x) for x in part.split("..", 1))
            if lo < 1 or hi < lo:
                raise ConfigError(f"bad size range {part!r}; write it small..large, e.g. 8k..1M")
            size = lo
            while size <= hi:
                sizes.append(size)
                size *= 2
        else:
            sizes.append(parse_size(part))
    if not sizes:
        raise ConfigError("no sizes given; write e.g. --tokens 8k,32k or --tokens 2^13..2^20")
    return sizes


def parse_size(text: str) -> int:
    """A size such as "8192", "8k", "1M" or "2^20" in tokens."""
    raw = text.strip().lower().replace("_", "")
    try:
        if "^" in raw:
            base, exp = raw.split("^", 1)
            return int(base) ** int(exp)
        if raw.endswith("k"):
            return int(float(raw[:-1]) * 1024)
        if raw.endswith("m"):
            return int(float(raw[:-1]) * 1024 * 1024)
        return int(raw)
    except ValueError:
        raise ConfigError(f"bad size {text!r}; write tokens as 8192, 8k, 1M or 2^13") from None
