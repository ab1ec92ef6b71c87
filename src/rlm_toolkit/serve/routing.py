"""Which conversations go to the RLM, and what becomes its context and its query.

Messages whose content is over the threshold (default 20,000 characters) are documents: they
become the context (one document as text; several joined, each under a header), and the last
user message (its short part, when the document is in it) is the query. A conversation with
no long content passes straight through to the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..providers.base import Message

DEFAULT_THRESHOLD = 20_000


@dataclass(frozen=True)
class Routed:
    """An RLM's context and query, and the earlier short turns (for a first question)."""

    context: str
    query: str


def route(messages: list[Message], threshold: int = DEFAULT_THRESHOLD) -> Routed | None:
    """The RLM's context and query, or None when the conversation is short (pass through)."""
    long = [i for i, m in enumerate(messages) if len(str(m.get("content", ""))) > threshold]
    if not long:
        return None
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    last_user = users[-1] if users else len(messages) - 1
    docs = [str(messages[i]["content"]) for i in long if i != last_user]
    query = str(messages[last_user].get("content", ""))
    if last_user in long:  # the document is in the question itself: its last paragraph asks
        head, _, tail = query.rstrip().rpartition("\n\n")
        if head and len(tail) <= 2_000:
            docs.append(head)
            query = tail
        else:
            docs.append(query)
            query = "Answer the request written at the end of the document."
    if len(docs) == 1:
        return Routed(docs[0], query.strip())
    joined = "\n\n".join(f"=== document {n} ===\n{d}" for n, d in enumerate(docs, 1))
    return Routed(joined, query.strip())


def session_context(messages: list[Message], threshold: int = DEFAULT_THRESHOLD) -> str | None:
    """The long content a session's first request brings (None: none)."""
    routed = route(messages, threshold)
    return None if routed is None else routed.context
