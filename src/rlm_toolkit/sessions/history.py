"""A session's questions and answers, shown to the root model in compact, bounded form.

The latest `recent` turns are shown with their answers (each cut to `answer_chars`); older
turns are summarised one line each; the whole block never passes `max_chars` (the oldest
summaries go first, counted in a note).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


@dataclass(frozen=True)
class Turn:
    """One question of the session, its answer and how the run ended."""

    query: str
    answer: str
    status: str

    def full(self, n: int, answer_chars: int) -> str:
        return f"Q{n}: {_clip(self.query, 200)}\nA{n} ({self.status}): " \
               f"{_clip(self.answer, answer_chars)}"

    def summary(self, n: int, answer_chars: int) -> str:
        return f"- Q{n}: {_clip(self.query, 100)} -> {_clip(self.answer, min(answer_chars, 120))}"


@dataclass
class History:
    """The turns so far and the bounds of what the model is shown of them."""

    recent: int = 3
    answer_chars: int = 1_000
    max_chars: int = 6_000
    turns: list[Turn] = field(default_factory=list)

    def add(self, query: str, answer: str, status: str) -> None:
        self.turns.append(Turn(query, answer, status))

    def render(self) -> str:
        """The block for the root prompt ("" before the first turn)."""
        if not self.turns:
            return ""
        split = max(0, len(self.turns) - self.recent)
        recent = [t.full(i, self.answer_chars)
                  for i, t in enumerate(self.turns[split:], split + 1)]
        older = [t.summary(i, self.answer_chars) for i, t in enumerate(self.turns[:split], 1)]
        budget = self.max_chars - sum(len(r) + 1 for r in recent)
        dropped = 0
        while older and sum(len(o) + 1 for o in older) > max(budget, 0):
            older.pop(0)
            dropped += 1
        lines = [f"({dropped} earlier questions not shown)"] if dropped else []
        if older:
            lines += ["Older questions, summarised:", *older]
        text = "\n".join(lines + recent)
        return text[-self.max_chars:]

    def to_dict(self) -> dict[str, Any]:
        return {"recent": self.recent, "answer_chars": self.answer_chars,
                "max_chars": self.max_chars, "turns": [asdict(t) for t in self.turns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        turns = [Turn(str(t["query"]), str(t["answer"]), str(t["status"]))
                 for t in data.get("turns", [])]
        return cls(int(data.get("recent", 3)), int(data.get("answer_chars", 1_000)),
                   int(data.get("max_chars", 6_000)), turns)
