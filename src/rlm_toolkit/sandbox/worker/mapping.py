"""Asking one question of many items: `llm_map` and `classify`, as model code sees them.

Standard library only. Each item is one sub-call; the calls go to the host `batch` at a time
(the host runs each batch concurrently within the run's limits) and, with a schema, every
reply is checked there (grammar-constrained on llama.cpp). A failed item does not stop the
others: it is None in the result and its index is in `.failed` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Items sent to the host in one batch.
MAP_BATCH = 16
#: Characters of one item put in its prompt.
ITEM_CHARS = 6_000

Batch = Callable[..., list[Any]]


class Mapped(list[Any]):
    """One result per item, in order; `.failed` maps a failed item's index to the reason."""

    failed: dict[int, str]

    def __init__(self, values: list[Any], failed: dict[int, str]) -> None:
        super().__init__(values)
        self.failed = failed

    def counts(self) -> dict[Any, int]:
        """How many items got each result (failed ones left out): {"negative": 12, ...}."""
        out: dict[Any, int] = {}
        for value in self:
            if value is not None:
                key = value if isinstance(value, (str, int, float, bool)) else str(value)
                out[key] = out.get(key, 0) + 1
        return out


def _item_list(items: Any, name: str) -> list[str]:
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise TypeError(f"{name} needs a list of items (e.g. find_items() or "
                        "split_document(context)), not one text")
    return [str(item)[:ITEM_CHARS] for item in items]


def _positive(batch: Any, name: str) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"{name}: batch must be a whole number >= 1, got {batch!r}")
    return batch


def llm_map(llm_batch: Batch, items: Any, instruction: Any, schema: Any = None,
            batch: int = MAP_BATCH) -> Mapped:
    """`instruction` asked about every item through `llm_batch`, `batch` items at a time."""
    texts = _item_list(items, "llm_map")
    size = _positive(batch, "llm_map")
    prompts = [f"{instruction}\n\nItem:\n{text}" for text in texts]
    values: list[Any] = []
    failed: dict[int, str] = {}
    for lo in range(0, len(prompts), size):
        replies = llm_batch(prompts[lo:lo + size], schema, label="llm_map")
        for i, reply in enumerate(replies, lo):
            if getattr(reply, "failed", False):
                failed[i] = str(reply)
                values.append(None)
            else:
                values.append(reply)
    return Mapped(values, failed)


def classify(llm_batch: Batch, items: Any, labels: Any, instruction: Any = "",
             batch: int = MAP_BATCH) -> Mapped:
    """One of `labels` for every item: a label string each, None (and `.failed`) on failure."""
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
        raise TypeError("classify needs a list of labels, e.g. ['positive', 'negative']")
    names = [str(label) for label in labels]
    if len(names) < 2:
        raise ValueError("classify needs at least two labels")
    schema = {"type": "object", "properties": {"label": {"type": "string", "enum": names}},
              "required": ["label"]}
    ask = (f"{instruction}\n" if instruction else "") + \
        f"Classify the item. Answer with one label: {', '.join(names)}."
    mapped = llm_map(llm_batch, items, ask, schema, batch)
    values: list[Any] = []
    for i, reply in enumerate(mapped):
        label = _label_of(reply, names)
        if label is None and i not in mapped.failed:
            mapped.failed[i] = f"not one of the labels: {str(reply)[:80]!r}"
        values.append(label)
    return Mapped(values, mapped.failed)


def _label_of(reply: Any, names: list[str]) -> str | None:
    """The label a reply gives (a Record's `label`, or text naming exactly one label)."""
    if reply is None:
        return None
    text = str(reply.get("label", "")) if isinstance(reply, dict) else str(reply)
    lowered = text.strip().strip(".\"'").lower()
    for name in names:
        if lowered == name.lower():
            return name
    named = [name for name in names if name.lower() in lowered]
    return named[0] if len(named) == 1 else None
