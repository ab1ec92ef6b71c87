"""Deterministic fact extraction for contradiction detection.

A statement such as "Alice lives in Paris" or "The user's favourite language is Python" yields
a `Fact(subject, relation, value)`. Two active episodes of one scope with the same subject and
relation but a different value contradict each other: the newer supersedes the older. Only
single-valued relations count ("lives in", "works at", "X's Y is"), never multi-valued ones
("likes", "visited"), so "The user likes Python" and "The user likes Rust" both stay current.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SELF = {"i", "me", "my", "myself", "the user", "user", "the user's"}

# Surface forms of single-valued relations -> canonical relation.
_RELATIONS: dict[str, str] = {
    "lives in": "lives_in", "live in": "lives_in", "is living in": "lives_in",
    "am living in": "lives_in", "resides in": "lives_in", "moved to": "lives_in",
    "has moved to": "lives_in", "relocated to": "lives_in", "now lives in": "lives_in",
    "is based in": "lives_in", "am based in": "lives_in",
    "works at": "works_at", "work at": "works_at", "works for": "works_at",
    "work for": "works_at", "is employed by": "works_at", "am employed by": "works_at",
    "joined": "works_at", "now works at": "works_at", "now works for": "works_at",
    "is married to": "married_to", "am married to": "married_to",
    "drives a": "drives", "drive a": "drives", "drives an": "drives", "drives": "drives",
    "is years old": "age", "is aged": "age",
    "works as a": "job", "works as an": "job", "work as a": "job", "work as an": "job",
    "is called": "name", "am called": "name", "is named": "name",
    "uses as editor": "editor",
}
# Words a question may use for a canonical relation; they are added to the full-text index of
# a fact's episode, so "Where does Alice live?" also finds "Alice moved to Berlin".
RELATION_WORDS: dict[str, str] = {
    "lives_in": "lives live living resides home city town moved where",
    "works_at": "works work working employer employed company job",
    "married_to": "married spouse partner husband wife",
    "drives": "drives drive car vehicle",
    "age": "age old years",
    "job": "job occupation profession works work",
    "name": "name called",
}


def search_words(fact_key: str | None) -> str:
    """Extra index words for an episode stating a fact with this key ('' for none)."""
    if not fact_key:
        return ""
    return RELATION_WORDS.get(fact_key.rsplit("|", 1)[-1], "")


_REL_ALT = "|".join(sorted((re.escape(k) for k in _RELATIONS), key=len, reverse=True))
_SUBJ = r"(?P<s>(?:the |my |our |his |her |their )?[A-Za-z][\w\-]*(?: [A-Z][\w\-]*)?)"
_TAIL = r"(?:\s+(?:now|nowadays|these days|since \S+(?: \S+)?))?\s*[.!]?$"

_VERB = re.compile(rf"^{_SUBJ}\s+(?P<r>{_REL_ALT})\s+(?P<v>.+?){_TAIL}", re.IGNORECASE)
_POSSESSIVE = re.compile(
    rf"^(?P<s>(?:the )?[\w\-]+(?: [A-Z][\w\-]*)?)'s\s+(?P<a>[\w \-]+?)\s+"
    rf"(?:is|are|was|has become|became|has changed to|changed to)\s+(?:now\s+)?(?P<v>.+?){_TAIL}",
    re.IGNORECASE,
)
_MY = re.compile(
    rf"^(?P<s>my|our)\s+(?P<a>[\w \-]+?)\s+(?:is|are|has become|became|changed to)\s+"
    rf"(?:now\s+)?(?P<v>.+?){_TAIL}",
    re.IGNORECASE,
)
_OF = re.compile(
    rf"^(?:the\s+)?(?P<a>[\w \-]+?)\s+of\s+(?P<s>[\w \-]+?)\s+(?:is|was|has become)\s+"
    rf"(?:now\s+)?(?P<v>.+?){_TAIL}",
    re.IGNORECASE,
)
_AGE = re.compile(rf"^{_SUBJ}\s+(?:is|am)\s+(?:now\s+)?(?P<v>\d+)\s+years?\s+old{_TAIL}", re.IGNORECASE)
_ARTICLES = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Fact:
    """One extracted (subject, relation, value) triple, normalised to lower case."""

    subject: str
    relation: str
    value: str

    @property
    def key(self) -> str:
        """The subject|relation key that contradicting facts share."""
        return f"{self.subject}|{self.relation}"


def _subject(s: str) -> str:
    s = " ".join(s.lower().split())
    if s in _SELF or s in {"our", "we"}:
        return "user"
    return _ARTICLES.sub("", s)


def _value(v: str) -> str:
    v = " ".join(v.lower().strip(" .!\"'").split())
    return _ARTICLES.sub("", v)


def extract_fact(text: str) -> Fact | None:
    """The single-valued fact a one-sentence statement makes, or None."""
    t = " ".join(text.strip().split())
    if not t or len(t) > 200 or "?" in t or re.search(r"\b(?:not|never|no longer)\b", t, re.I):
        return None
    m = _AGE.match(t)
    if m:
        return Fact(_subject(m["s"]), "age", m["v"])
    m = _POSSESSIVE.match(t) or _MY.match(t)
    if m:
        attr = " ".join(m["a"].lower().split()).replace("favorite", "favourite")
        return Fact(_subject(m["s"]), attr, _value(m["v"]))
    m = _VERB.match(t)
    if m:
        return Fact(_subject(m["s"]), _RELATIONS[" ".join(m["r"].lower().split())], _value(m["v"]))
    m = _OF.match(t)
    if m:
        attr = " ".join(m["a"].lower().split()).replace("favorite", "favourite")
        return Fact(_subject(m["s"]), attr, _value(m["v"]))
    return None
