"""Text helpers of the memory: tokens, keywords, hashes, FTS queries and extractive summaries.

Everything here is deterministic and dependency-free.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_'\-]*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")

STOPWORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "s", "t", "don", "doesn", "didn", "won", "isn", "aren", "wasn", "weren", "also", "any", "anything", "something", "still", "ever", "please", "tell", "know", "remember", "user's", "one", "get", "got"]
)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stripper (enough to match 'lives'/'live', 'moved'/'move')."""
    w = word.lower().strip("'-_")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith("ss"):
                break
            return w[: -len(suffix)] + keep
    return w


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [m.group(0).lower().strip("'-_") for m in _WORD.finditer(text)]


def content_terms(text: str) -> list[str]:
    """Stemmed content words (stopwords and one-letter tokens removed), in order."""
    out = []
    for w in words(text):
        if len(w) < 2 or w in STOPWORDS:
            continue
        out.append(stem(w))
    return out


def top_terms(counts: Counter[str], n: int) -> list[tuple[str, int]]:
    """The `n` most frequent terms, ties broken alphabetically (never by set or hash order,
    which changes between processes)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def keywords(texts: Iterable[str], n: int = 12) -> list[str]:
    """The `n` most frequent content terms over `texts` (ties broken alphabetically)."""
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(set(content_terms(t)))
    return [w for w, _ in top_terms(counts, n)]


def normalize(text: str) -> str:
    """Whitespace-collapsed, lower-cased text, without trailing punctuation (for dedup)."""
    return " ".join(text.lower().split()).rstrip(" .!?")


def text_hash(text: str) -> str:
    """A stable hash of the normalised text."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()[:32]


def fts_query(text: str, max_terms: int = 32) -> str:
    """An FTS5 MATCH expression ORing the query's content words (each quoted), or ''."""
    seen: list[str] = []
    for w in words(text):
        if len(w) < 2 or w in STOPWORDS:
            continue
        w = w.replace('"', "")
        if w and w not in seen:
            seen.append(w)
    return " OR ".join(f'"{w}"' for w in seen[:max_terms])


def match_fraction(
    query: str | set[str], text: str, idf: dict[str, float] | None = None
) -> float:
    """The (idf-weighted) fraction of the query's content terms (or of the given set of stemmed
    terms) found in `text`, in [0, 1]."""
    q = set(content_terms(query)) if isinstance(query, str) else query
    if not q:
        return 0.0
    t = set(content_terms(text))
    # Words saying *when* ("in March 2023", "last year") are answered by timestamps and
    # `as_of`, rarely by the text: they count when the text has them, else not at all.
    q = {w for w in q if w in t or not is_time_term(w)} or q
    weight = (lambda w: idf.get(w, 1.0)) if idf else (lambda w: 1.0)
    total = sum(weight(w) for w in q)
    return sum(weight(w) for w in q & t) / total if total else 0.0


_TIME_WORDS = [
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday", "today", "yesterday", "tomorrow", "tonight", "ago",
    "last", "next", "recently", "earlier", "currently", "day", "week", "month", "year", "weekend",
    "morning", "evening", "night",
]
_TIME_TERMS = frozenset(stem(w) for w in _TIME_WORDS)


def is_time_term(term: str) -> bool:
    """True for a stemmed word that only says when: a month, a weekday, a year, 'ago'..."""
    return term in _TIME_TERMS or (len(term) == 4 and term.isdigit() and term[:2] in ("19", "20"))


def bm25_scores(
    query: set[str], docs: Sequence[Sequence[str]], idf: dict[str, float],
    k1: float = 1.2, b: float = 0.75,
) -> list[float]:
    """Okapi BM25 of each document (a list of stemmed terms) for the stemmed query terms, with
    the given inverse document frequencies (a missing term weighs 1)."""
    if not docs or not query:
        return [0.0] * len(docs)
    avg = sum(len(d) for d in docs) / len(docs) or 1.0
    out = []
    for d in docs:
        tf = Counter(t for t in d if t in query)
        norm = k1 * (1 - b + b * len(d) / avg)
        out.append(sum(idf.get(t, 1.0) * f * (k1 + 1) / (f + norm) for t, f in tf.items()))
    return out


def sentences(text: str) -> list[str]:
    """Split text into sentences (keeps short texts whole)."""
    parts = [p.strip() for p in _SENTENCE.split(text.strip()) if p.strip()]
    return parts or ([text.strip()] if text.strip() else [])


def extractive_summary(texts: Sequence[str], max_chars: int = 400, label: bool = True) -> str:
    """A deterministic summary: the group's key terms, then its most central sentences.

    Sentences are ranked by how many of the group's frequent terms they contain (ties keep the
    original order), deduplicated, and joined until `max_chars`.
    """
    sents: list[str] = []
    seen: set[str] = set()
    for t in texts:
        for s in sentences(t):
            key = normalize(s)
            if key not in seen:
                seen.add(key)
                sents.append(s)
    if not sents:
        return ""
    freq: Counter[str] = Counter()
    for s in sents:
        freq.update(set(content_terms(s)))
    def centrality(s: str) -> float:
        terms = set(content_terms(s))
        return sum(freq[w] for w in terms) / math.sqrt(len(terms) + 1)
    order = sorted(range(len(sents)), key=lambda i: (-centrality(sents[i]), i))
    top = [w for w, c in top_terms(freq, 6) if c > 1] if label else []
    head = f"[{', '.join(top)}] " if top else ""
    chosen: list[int] = []
    size = len(head)
    for i in order:
        s = sents[i]
        if chosen and size + len(s) + 1 > max_chars:
            continue
        chosen.append(i)
        size += len(s) + 1
        if size >= max_chars:
            break
    body = " ".join(_end(sents[i]) for i in sorted(chosen))
    return (head + body)[: max_chars + len(head)]


def _end(s: str) -> str:
    return s if s[-1:] in ".!?" else s + "."
