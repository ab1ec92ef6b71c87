"""Which pieces of the context a prompt carries word for word.

The context is indexed once by its `K`-character pieces at every K-th position; a prompt is
looked up at every position, and each hit is grown both ways to the whole shared piece. Any
shared piece of 2K - 1 characters or more is found.
"""

from __future__ import annotations

from dataclasses import dataclass

K = 32
#: The most places one K-character piece is remembered at (repeated text).
MAX_PLACES = 4


@dataclass(frozen=True)
class Piece:
    """A verbatim piece: `prompt[start:end] == context[ctx_start:ctx_start + (end - start)]`."""

    start: int
    end: int
    ctx_start: int

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def ctx_range(self) -> tuple[int, int]:
        return self.ctx_start, self.ctx_start + self.length


class ContextIndex:
    """The context's pieces, for finding them in prompts. Built lazily, once per run."""

    def __init__(self, context: str) -> None:
        self.context = context
        self._index: dict[str, list[int]] | None = None

    def _built(self) -> dict[str, list[int]]:
        if self._index is None:
            index: dict[str, list[int]] = {}
            ctx = self.context
            for pos in range(0, len(ctx) - K + 1, K):
                places = index.setdefault(ctx[pos:pos + K], [])
                if len(places) < MAX_PLACES:
                    places.append(pos)
            self._index = index
        return self._index

    def pieces(self, prompt: str, min_len: int = K) -> list[Piece]:
        """The maximal verbatim pieces of the context in `prompt`, of `min_len` or more."""
        if len(prompt) < K or len(self.context) < K:
            return []
        index, ctx = self._built(), self.context
        found: list[Piece] = []
        i, last = 0, len(prompt) - K
        while i <= last:
            places = index.get(prompt[i:i + K])
            if places is None:
                i += 1
                continue
            best = max((_grow(prompt, ctx, i, p) for p in places), key=lambda x: x.length)
            if best.length >= min_len:
                found.append(best)
            i = max(i + 1, best.end - K + 1)
        return _distinct(found)


def _grow(prompt: str, ctx: str, i: int, pos: int) -> Piece:
    """The whole shared piece around `prompt[i:i+K] == ctx[pos:pos+K]`."""
    back = _common(prompt, ctx, i, pos, -1)
    ahead = _common(prompt, ctx, i + K, pos + K, 1)
    return Piece(i - back, i + K + ahead, pos - back)


def _common(a: str, b: str, i: int, j: int, step: int) -> int:
    """How many characters match going forward (step 1) from a[i], b[j], or back from before
    them (step -1): doubling then halving, comparing slices rather than characters."""
    limit = min(len(a) - i, len(b) - j) if step > 0 else min(i, j)
    n, size = 0, 64
    while n < limit:
        size = min(size, limit - n)
        if step > 0:
            same = a[i + n:i + n + size] == b[j + n:j + n + size]
        else:
            same = a[i - n - size:i - n] == b[j - n - size:j - n]
        if same:
            n += size
            size *= 2
        elif size == 1:
            break
        else:
            size //= 2
    return n


def _distinct(pieces: list[Piece]) -> list[Piece]:
    """Drop pieces inside another one: a repeated phrase can match a shorter piece elsewhere
    in the context before the whole piece is met."""
    out: list[Piece] = []
    for p in sorted(pieces, key=lambda x: (x.start, -x.end)):
        if out and p.end <= out[-1].end:
            continue
        out.append(p)
    return out


def merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping ranges covering the same characters."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out
