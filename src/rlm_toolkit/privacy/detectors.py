"""What counts as personal or secret data: the built-in detectors and custom patterns.

A `Detector` is a compiled pattern, an optional check of each match (a card's Luhn digit, an
IBAN's mod-97 checksum, an address `ipaddress` accepts) and the placeholder type it gives
(`EMAIL` in `<EMAIL_1>`). Built-ins by name: "email", "phone", "card", "iban", "ip", "secret".
The built-ins find their values from literals in a shape of the text (`scan`): a built-in's
`find_in` takes a `Scan`, which `Redactor` makes once per text for all of them.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import ConfigError
from .scan import Scan, Trigger, confirmed, runs

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
    #: Built-ins only: triggers in `scan.SHAPE`, each with how far before it a match may start,
    #: such that every match holds one; the pattern then runs only near them.
    hits: tuple[tuple[Trigger, int], ...] = field(default=(), compare=False)

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
        return self.find_in(Scan(text))

    def find_in(self, scan: Scan) -> Iterator[tuple[int, int]]:
        """`find` on a prepared text."""
        if self.hits:
            matches = confirmed(self.pattern, scan.text, scan.starts(self.hits))
        else:
            matches = self.pattern.finditer(scan.text)
        for m in matches:
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
    if not digits.isascii():  # digits of another script ("４") are checked by their values
        digits = "".join(str(unicodedata.decimal(c)) for c in digits)
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


SECRET_FORMS: tuple[str, ...] = (
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]{0,10000}?-----END [A-Z ]*PRIVATE KEY-----",
    r"AKIA(?<!\wAKIA)[0-9A-Z]{16}(?![0-9A-Za-z])",
    r"sk-(?<!\wsk-)(?:proj-|ant-)?[A-Za-z0-9_-]{20,}",
    r"sk_(?<!\wsk_)(?:live|test)_[A-Za-z0-9]{16,}",
    r"pk_(?<!\wpk_)(?:live|test)_[A-Za-z0-9]{16,}",
    r"rk_(?<!\wrk_)(?:live|test)_[A-Za-z0-9]{16,}",
    r"gh(?<!\wgh)[pousr]_[A-Za-z0-9]{36,}",
    r"github_pat_(?<!\wgithub_pat_)[A-Za-z0-9_]{22,}",
    r"xox(?<!\wxox)[abposr]-[A-Za-z0-9-]{10,}",
    r"AIza(?<!\wAIza)[0-9A-Za-z_-]{35}",
    r"eyJ(?<!\weyJ)[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
)
"""Key formats (private key blocks, AWS, OpenAI/Anthropic-style, Stripe, GitHub, Slack,
Google, JWT). Each starts with a literal, which `re` searches for quickly."""

#: A value assigned with ":" or "=" (searched from the sign, fast) ...
ASSIGNED = re.compile(r"[:=]\s{0,3}[\"']?([^\s\"',;]{8,})")
#: ... to a name that says it is secret (checked on the few characters before the sign).
SECRET_NAME = re.compile(r"(?<![a-z0-9])(?:api[_-]?key|secret|token|passw(?:or)?d|pwd)[\"']?\s*\Z")


#: The start of each secret name (in the text with small capitals), searched before any sign.
SECRET_NAME_HEADS = (b"api", b"secret", b"token", b"passw", b"pwd")
#: The shortest key of `SECRET_FORMS` but the first (a private key block, found on its own).
SHORTEST_KEY = 15
SIGN = re.compile(r"[:=]")


class SecretDetector:
    """API keys and secrets in their common formats, and values assigned to secret names.

    A key is made of `[A-Za-z0-9_.-]` only, so its forms are tried only in runs of those at
    least `SHORTEST_KEY` long; an assignment only at a sign at most 24 characters after the
    start of a secret name.
    """

    name = "secret"
    kind = "SECRET"

    def __init__(self) -> None:
        self._block, *self._keys = [re.compile(p) for p in SECRET_FORMS]

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        return self.find_in(Scan(text))

    def find_in(self, scan: Scan) -> Iterator[tuple[int, int]]:
        text = scan.text
        for m in self._block.finditer(text):
            yield m.span()
        places = list(runs(scan.words, b"w" * SHORTEST_KEY))
        for pattern in self._keys:
            for start, end in places:
                for m in pattern.finditer(text, start, end):
                    yield m.span()
        yield from self._assigned(scan)

    def _assigned(self, scan: Scan) -> Iterator[tuple[int, int]]:
        """Values assigned to a secret name: `api_key = "..."`, `password: ...`."""
        text, signs = scan.text, set[int]()
        for head in SECRET_NAME_HEADS:
            at = scan.lower.find(head)
            while at >= 0:
                signs.update(m.start() for m in SIGN.finditer(text, at + len(head), at + 25))
                at = scan.lower.find(head, at + len(head))
        done = 0
        for sign in sorted(signs):
            if sign < done:
                continue
            head_text = text[max(0, sign - 24):sign].lower()
            if SECRET_NAME.search(head_text) and (m := ASSIGNED.match(text, sign)) is not None:
                done = m.end()
                yield m.span(1)


PHONE_FORMS: tuple[str, ...] = (
    # +44 20 7946 0958, +1-555-010-0199, +4915123456789
    r"\+(?<![\w+]\+)\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{1,5}){0,5}"
    r"(?![\w-]|\.\d)",
    # (555) 010-0199
    r"\((?<![\w(]\()\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}(?![\w-]|\.\d)",
    # 555-010-0199, 020 7946 0958, 01 23 45 67 89
    r"\d(?<![\w+.-]\d)(?:\d{2}[-. ]\d{3}[-. ]\d{4}|(?<=0)(?:\d{1,4}[ -]\d{3,4}[ -]?\d{3,4}"
    r"|\d(?:[ .]\d{2}){4}))(?![\w-]|\.\d)",
)
"""The phone formats recognised: international (+...), North American, European national.
A bare run of digits is left alone: it is an id more often than a phone number."""


#: Digit groups in `scan.SHAPE`: a group's last digit, a separator, then 3 + 3, 4 + 3 or 6
#: digits ("555-010-0199" holds "0 000 000" two characters in, "020 7946 0958" holds
#: "0 0000 000" at its second character, a grouped card "0 0000 000" at its fourth).
GROUPS = re.compile(rb"0 000(?: 000|0 000|000)")
#: Triggers of the national forms (the last of `PHONE_FORMS`), with how far before each a
#: match may start: every match holds one.
PHONE_HITS: tuple[tuple[Trigger, int], ...] = ((GROUPS, 4), (b"00 00 00 00 00", 0))


class PhoneDetector:
    """Phone numbers in the formats of `PHONE_FORMS`, with 7 to 15 digits."""

    name = "phone"
    kind = "PHONE"

    def __init__(self) -> None:
        *self._marked, self._national = [re.compile(p) for p in PHONE_FORMS]

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        return self.find_in(Scan(text))

    def find_in(self, scan: Scan) -> Iterator[tuple[int, int]]:
        text = scan.text
        found = [pattern.finditer(text) for pattern in self._marked]  # from "+" and "("
        found.append(confirmed(self._national, text, scan.starts(PHONE_HITS)))
        for matches in found:
            for m in matches:
                if 7 <= sum(c.isdigit() for c in m.group()) <= 15:
                    yield m.span()


class EmailDetector:
    """E-mail addresses: found from each "@" (a fast literal search), then the local part."""

    name = "email"
    kind = "EMAIL"
    domain = re.compile(r"@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
    local = re.compile(r"[A-Za-z0-9._%+-]{1,64}\Z")

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        return self.find_in(Scan(text))

    def find_in(self, scan: Scan) -> Iterator[tuple[int, int]]:
        text = scan.text
        for m in self.domain.finditer(text):
            at = m.start()
            head = self.local.search(text, max(0, at - 64), at)
            if head is not None:
                yield head.start(), m.end()


class IPDetector:
    """IPv4 and IPv6 addresses, each checked by `ipaddress`. Found from their dots and colons
    (literal searches, fast), then grown to the whole address."""

    name = "ip"
    kind = "IP"
    v4 = re.compile(r"\.\d{1,3}\.\d{1,3}\.")
    #: From a run's first colon; the run must hold "::" or five more colons between groups of
    #: at most 4 hex digits, as an IPv6 address does (a time, 12:30:45, is not tried).
    v6 = re.compile(r":(?=:|[0-9A-Fa-f:]*::|(?:[0-9A-Fa-f]{0,4}:){5})[0-9A-Fa-f:]*")
    hexdigits = frozenset("0123456789abcdefABCDEF")

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        yield from self._grown(text, self.v4, "0123456789", 3, _V4_TAIL)
        if ":" in text:
            yield from self._grown(text, self.v6, self.hexdigits, 4, None)

    def _grown(self, text: str, pattern: re.Pattern[str], head: Iterable[str], most: int,
               tail: re.Pattern[str] | None) -> Iterator[tuple[int, int]]:
        chars = frozenset(head)
        for m in pattern.finditer(text):
            start = m.start()
            while start > 0 and m.start() - start < most and text[start - 1] in chars:
                start -= 1
            if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_."):
                continue
            end = m.end()
            if tail is not None:
                more = tail.match(text, end)
                if more is None:
                    continue
                end = more.end()
            if end < len(text) and (text[end].isalnum() or text[end] == "_"):
                continue
            try:
                ipaddress.ip_address(text[start:end])
            except ValueError:
                continue
            yield start, end


_V4_TAIL = re.compile(r"\d{1,3}(?!\d|\.\d)")


BUILTIN: dict[str, Finder] = {
    "secret": SecretDetector(),
    "email": EmailDetector(),
    "iban": Detector("iban", re.compile(
        r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{1,4}){3,8}(?![A-Za-z0-9])"
    ), "IBAN", _iban, ((b"AA00", 0),)),
    "card": Detector("card", re.compile(
        r"\d(?<![\d-]\d)(?:\d{12,18}|\d{3}(?:[ -]\d{4}){3}(?:[ -]\d{1,3})?"
        r"|\d{3}[ -]\d{6}[ -]\d{5})(?![\d-])"
    ), "CARD", _card, ((b"0" * 13, 0), (GROUPS, 3))),  # 13+ digits, or 4-4-4-4(-x) / 4-6-5
    "ip": IPDetector(),
    "phone": PhoneDetector(),
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
