"""What counts as personal or secret data: the built-in detectors and custom patterns.

A `Detector` is a compiled pattern, an optional check of each match (a card's Luhn digit, an
IBAN's mod-97 checksum, an address `ipaddress` accepts) and the placeholder type it gives
(`EMAIL` in `<EMAIL_1>`). Built-ins by name: "email", "phone", "card", "iban", "ip", "secret".
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import ConfigError

#: Finds, in a match, the part that is the value; returns its (start, end) or None to skip.
Check = Callable[[re.Match[str]], tuple[int, int] | None]

TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


class Finder(Protocol):
    """Anything that finds values of one kind in a text (a `Detector`, the NER detector)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    def find(self, text: str) -> Iterator[tuple[int, int]]: ...


@dataclass(frozen=True)
class Detector:
    """One kind of value to redact. `kind` is the placeholder type ("EMAIL" -> `<EMAIL_1>`)."""

    name: str
    pattern: re.Pattern[str]
    kind: str
    check: Check | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not TYPE_NAME.fullmatch(self.kind):
            raise ConfigError(
                f"detector {self.name!r}: its placeholder type must be upper-case letters and "
                f"digits (like ORDER), got {self.kind!r}"
            )

    @classmethod
    def regex(cls, name: str, pattern: str | re.Pattern[str], kind: str | None = None) -> Detector:
        """A custom detector: every match of `pattern` (group 1 if it has groups) is redacted."""
        try:
            compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
        except re.error as exc:
            raise ConfigError(f"detector {name!r}: the pattern does not compile: {exc}") from exc
        if compiled.search("") is not None:
            raise ConfigError(f"detector {name!r}: the pattern matches an empty string; "
                              "it must match the values to redact")
        check = _group_one if compiled.groups else None
        return cls(name, compiled, kind or re.sub(r"[^A-Z0-9]", "_", name.upper()) or "CUSTOM",
                   check)

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        """The (start, end) of each value of this kind in `text`."""
        for m in self.pattern.finditer(text):
            if self.check is None:
                yield m.span()
            elif (span := self.check(m)) is not None and span[1] > span[0]:
                yield span


def _group_one(m: re.Match[str]) -> tuple[int, int] | None:
    return m.span(1) if m.group(1) else None


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(m: re.Match[str]) -> tuple[int, int] | None:
    digits = re.sub(r"\D", "", m.group())
    return m.span() if 13 <= len(digits) <= 19 and _luhn(digits) else None


def _iban_ok(value: str) -> bool:
    v = value.replace(" ", "")
    if not 15 <= len(v) <= 34:
        return False
    moved = v[4:] + v[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _iban(m: re.Match[str]) -> tuple[int, int] | None:
    """The longest prefix (ending at a group boundary) that passes the mod-97 check."""
    text, start = m.group(), m.start()
    ends = [len(text)] + [i for i in range(len(text) - 1, 14, -1) if text[i] == " "]
    for end in ends:
        if _iban_ok(text[:end]):
            return start, start + end
    return None


def _ip(m: re.Match[str]) -> tuple[int, int] | None:
    try:
        ipaddress.ip_address(m.group())
    except ValueError:
        return None
    return m.span()


DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")


SECRET_FORMS: tuple[tuple[str, str], ...] = (
    ("-----BEGIN", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]{0,10000}?-----END [A-Z ]*PRIVATE KEY-----"),
    ("AKIA", r"\bAKIA[0-9A-Z]{16}\b"),
    ("k_", r"\b[spr]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("k-", r"\b[spr]k-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),
    ("_", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}"),
    ("xox", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ("AIza", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("eyJ", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
)
"""Key formats (private key blocks, AWS, Stripe, OpenAI/Anthropic-style, GitHub, Slack,
Google, JWT), each with a literal that must occur for it to be searched at all."""

#: "api_key = ...", "password: ...": only the value is redacted.
ASSIGNED = re.compile(
    r"(?i)(?:api[_-]?key|secret|token|passw(?:or)?d|pwd)[\"']?\s{0,3}[:=]\s{0,3}[\"']?"
    r"([^\s\"',;]{8,})"
)
ASSIGNED_WORDS = ("key", "secret", "token", "passw", "pwd")


class SecretDetector:
    """API keys and secrets in their common formats, and values assigned to secret names."""

    name = "secret"
    kind = "SECRET"

    def __init__(self) -> None:
        self._forms = [(lit, re.compile(p)) for lit, p in SECRET_FORMS]

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        for literal, pattern in self._forms:
            if literal in text:
                for m in pattern.finditer(text):
                    yield m.span()
        low = text.lower()
        if any(w in low for w in ASSIGNED_WORDS):
            for m in ASSIGNED.finditer(text):
                yield m.span(1)


PHONE_SHAPE = re.compile(
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{1,5}){0,5}"  # +44 20 7946 0958
    r"|\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"  # (555) 010-0199
    r"|\d{3}[-. ]\d{3}[-. ]\d{4}"  # 555-010-0199
    r"|0\d{1,4}[ -]\d{3,4}[ -]?\d{3,4}"  # 020 7946 0958
    r"|0\d(?:[ .]\d{2}){4}"  # 01 23 45 67 89
)
"""The phone formats recognised: international (+...), North American, European national."""


def _phone(m: re.Match[str]) -> tuple[int, int] | None:
    text = m.group()
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15 or not PHONE_SHAPE.fullmatch(text):
        return None
    return m.span()


class EmailDetector:
    """E-mail addresses: found from each "@" (a fast literal search), then the local part."""

    name = "email"
    kind = "EMAIL"
    domain = re.compile(r"@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
    local = re.compile(r"[A-Za-z0-9._%+-]{1,64}\Z")

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        for m in self.domain.finditer(text):
            at = m.start()
            head = self.local.search(text, max(0, at - 64), at)
            if head is not None:
                yield head.start(), m.end()


class IPDetector:
    """IPv4 and IPv6 addresses, each checked by `ipaddress`."""

    name = "ip"
    kind = "IP"
    v4 = re.compile(r"\d(?<![\d.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\.?\d)")
    v6 = re.compile(r"[0-9A-Fa-f:](?<![\w:][0-9A-Fa-f:])[0-9A-Fa-f]{0,3}:"
                    r"(?:[0-9A-Fa-f]{1,4}:|:){0,6}[0-9A-Fa-f]{0,4}(?![\w:])")

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        for pattern in (self.v4, self.v6) if ":" in text else (self.v4,):
            for m in pattern.finditer(text):
                if _ip(m) is not None:
                    yield m.span()


BUILTIN: dict[str, Finder] = {
    "secret": SecretDetector(),
    "email": EmailDetector(),
    "iban": Detector("iban", re.compile(
        r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{1,4}){3,8}(?![A-Za-z0-9])"
    ), "IBAN", _iban),
    "card": Detector("card", re.compile(
        r"\d(?<![\d-]\d)(?:\d{12,18}|\d{3}(?:[ -]\d{4}){3}(?:[ -]\d{1,3})?"
        r"|\d{3}[ -]\d{6}[ -]\d{5})(?![\d-])"
    ), "CARD", _card),
    "ip": IPDetector(),
    "phone": Detector("phone", re.compile(
        r"[+(\d](?<![\w+][+(\d])[\d ().-]{5,18}\d(?!\w)"
    ), "PHONE", _phone),
}
"""The built-in detectors, in priority order: where two overlap, the earlier one wins."""

Spec = str | re.Pattern[str] | Finder


def build(specs: Iterable[Spec]) -> list[Finder]:
    """Detectors for `RLMConfig(redact=[...])`: built-in names, compiled patterns, Detectors."""
    out: list[Finder] = []
    custom = 0
    for spec in specs:
        if isinstance(spec, Detector) or (hasattr(spec, "find") and hasattr(spec, "kind")):
            out.append(spec)  # type: ignore[arg-type]
        elif isinstance(spec, re.Pattern):
            custom += 1
            out.append(Detector.regex(f"custom{custom}", spec, "CUSTOM"))
        elif isinstance(spec, str) and spec in BUILTIN:
            out.append(BUILTIN[spec])
        elif isinstance(spec, str) and spec in NER_KINDS:
            from .ner import presidio_detector

            out.append(presidio_detector(spec))
        else:
            raise ConfigError(
                f"unknown redact entry {spec!r}: use {', '.join(map(repr, BUILTIN))}, "
                f"{', '.join(map(repr, NER_KINDS))} (with rlm-toolkit[privacy]), a compiled "
                "pattern re.compile(...), or Detector.regex('order', r'ORD-\\d+')"
            )
    return sorted(out, key=_priority)


#: Names served by the optional NER detector (`pip install rlm-toolkit[privacy]`).
NER_KINDS = {"person": "PERSON", "location": "LOCATION"}


def _priority(d: Finder) -> int:
    names = list(BUILTIN)
    return names.index(d.name) if BUILTIN.get(d.name) is d else -1


DEFAULT = tuple(BUILTIN)
"""What `egress="redact"` redacts when `redact` is not given: all six built-ins."""
