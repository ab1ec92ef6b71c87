"""The fast scan of the built-in detectors finds what the plain scan of their patterns finds.

The plain scan (every pattern over the whole text) is kept in bench/redaction_reference.py; here
both run over random texts dense in digits, separators and planted values, and over the edge
cases the literal triggers could miss: cards and phones split by spaces, dashes and dots,
values at the very start or end of a text, next to long digit runs, in digits of other scripts.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from rlm_toolkit.privacy import BUILTIN, Redactor, build
from rlm_toolkit.privacy.scan import OTHER_DIGIT, OTHER_DIGIT_UTF8

REPO = Path(__file__).resolve().parents[2]


def _reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "redaction_reference", REPO / "bench" / "redaction_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference().BUILTIN


def _luhn_complete(digits: str) -> str:
    for last in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(digits + last)):
            d = int(ch)
            total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
        if total % 10 == 0:
            return digits + last
    raise AssertionError


def _card(rng: random.Random) -> str:
    number = _luhn_complete("".join(rng.choice("0123456789") for _ in range(rng.choice(
        [12, 14, 15, 16, 18]))))
    sep = rng.choice([" ", "-", "", ".", " - "])
    if len(number) == 15 and rng.random() < 0.5:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


def _phone(rng: random.Random) -> str:
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    s = lambda: rng.choice([" ", "-", ".", ""])  # noqa: E731
    return rng.choice([
        f"+{d(2)} {d(2)} {d(4)} {d(4)}", f"+1-{d(3)}-{d(3)}-{d(4)}", f"+{d(12)}",
        f"({d(3)}) {d(3)}-{d(4)}", f"{d(3)}{s()}{d(3)}{s()}{d(4)}", f"0{d(rng.randint(1, 4))}{s()}"
        f"{d(rng.randint(3, 4))}{s()}{d(rng.randint(3, 4))}", f"0{d(1)} {d(2)} {d(2)} {d(2)} {d(2)}",
        f"0{d(1)}.{d(2)}.{d(2)}.{d(2)}.{d(2)}", f"+44 (0){d(2)} {d(4)} {d(4)}",
    ])


PIECES = (
    " ", " ", "  ", "-", ".", "/", ":", "=", " = ", "(", ")", "+", "\n", ",", "'", '"', "_",
    "the", "order", "EUR", "GB82", "WEST", "DE89", "id", "x", "AB", "Z",
    "sk-", "AKIA", "ghp_", "api_key", "Token", "password", "secret", "eyJ", "xoxb-",
    "jane@example.com", "a.b@c.io", "@", "10.0.0.1", "::1", "2001:db8::1", "12:30:45",
    "1:2:3:4:5:6:7:8", "::ffff:10.0.0.1", "abcde:1:2:3:4:5:6", "fe80::1:2", "a:b:c:d:e:f",
    "1:2:3:4:5:6:1.2.3.4", ":::", "ab::cd::ef",
    "2026-01-15", "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
    "٣", "３", "é", "€", "İ", "０",
)


def _text(rng: random.Random) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(5, 60)):
        roll = rng.random()
        if roll < 0.35:
            parts.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 22))))
        elif roll < 0.45:
            parts.append(_card(rng))
        elif roll < 0.55:
            parts.append(_phone(rng))
        elif roll < 0.6:
            parts.append("".join(rng.choice("0123456789abcdefABG:::..") for _ in range(
                rng.randint(2, 40))))  # IPv6 and IPv4 look-alikes
        elif roll < 0.65:
            parts.append(rng.choice(["sk-", "AKIA", "ghp_", "xoxb-"]) + "".join(
                rng.choice("ABCdef0123456789_-") for _ in range(rng.randint(8, 40))))
        else:
            parts.append(rng.choice(PIECES))
    return "".join(parts)


TEXTS = [_text(random.Random(seed)) for seed in range(3000)]


@pytest.mark.parametrize("name", ["email", "iban", "card", "ip", "phone"])
def test_each_builtin_finds_what_the_plain_scan_finds(name: str) -> None:
    fast, plain = BUILTIN[name], REFERENCE[name]
    for text in TEXTS:
        if name == "card" and OTHER_DIGIT.search(text):
            continue  # the plain scan's Luhn check read "４" as a number past 9 (tested below)
        assert list(fast.find(text)) == list(plain.find(text)), text


def test_secrets_are_those_of_the_plain_scan_and_assignments_it_skipped() -> None:
    """The plain scan read assignments one after another from any sign, so a sign inside a
    value it had read was never looked at (`url=https://x/?token=...`); the fast one reads each
    sign after a secret name."""
    fast, plain = BUILTIN["secret"], REFERENCE["secret"]
    for text in TEXTS:
        old, new = list(plain.find(text)), list(fast.find(text))
        assert set(old) <= set(new), text
    url = "see url=https://x.example/?token=abcdefgh12345 now"
    assert [url[a:b] for a, b in plain.find(url)] == []
    assert [url[a:b] for a, b in fast.find(url)] == ["abcdefgh12345"]


def test_whole_redaction_matches_the_plain_scan() -> None:
    """All but "secret", which finds more (the test above)."""
    names = ["email", "iban", "card", "ip", "phone"]
    for text in TEXTS[:1000]:
        if OTHER_DIGIT.search(text):
            continue
        fast = Redactor(build(names)).redact(text)
        plain = Redactor([REFERENCE[n] for n in sorted(names, key=list(BUILTIN).index)]).redact(text)
        assert fast == plain, text


def found(kinds: list[str], text: str) -> list[tuple[str, str]]:
    return [(kind, text[a:b]) for a, b, kind in Redactor(build(kinds)).spans(text)]


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "4111 1111-1111 1111",
    "3782 822463 10005", "3782-822463-10005", "6011 0009 9013 9424", "5555-5555-5555-4444",
    "4000 0000 0000 0002", _luhn_complete("4" * 18),
    " ".join(_luhn_complete("4111" * 4 + "12")[i:i + 4] for i in range(0, 19, 4)),
])
def test_cards_split_by_spaces_and_dashes(text: str) -> None:
    for around in ("{}", "paid {} today", "x:{}", "{}.", "id 12345678 then {}"):
        whole = around.format(text)
        assert ("CARD", text) in found(["card"], whole), whole


def test_card_lookalikes_near_the_trigger() -> None:
    assert found(["card"], "-4111111111111111") == []  # a dash before: part of a longer id
    assert found(["card"], "41111111111111111111111") == []  # 23 digits: an id
    assert found(["card"], "4111.1111.1111.1111") == []  # dots: not a card form
    assert found(["card"], "4111 1111 1111 1112") == []  # Luhn


@pytest.mark.parametrize("phone", [
    "+44 20 7946 0958", "+1-555-010-0199", "+4915123456789", "(555) 010-0199", "555-010-0199",
    "555.010.0199", "555 010 0199", "020 7946 0958", "0201 234 5678", "01 23 45 67 89",
    "01.23.45.67.89", "030-1234567", "0612 345 678",
])
def test_phones_in_their_formats(phone: str) -> None:
    for around in ("{}", "call {} now", "tel:{}", "[{}],", "12345 {}"):
        whole = around.format(phone)
        assert found(["phone"], whole) == [("PHONE", phone)], whole


def test_overlapping_detectors_keep_the_earlier_one() -> None:
    """A card is also a run of digit groups a phone pattern could read; a card in a secret
    assignment is the secret; an IP inside an e-mail's domain is the e-mail."""
    text = "card 4111 1111 1111 1111, password=4111111111111111, mail ops@10.0.0.1.example.com"
    assert found(["secret", "email", "iban", "card", "ip", "phone"], text) == [
        ("CARD", "4111 1111 1111 1111"), ("SECRET", "4111111111111111"),
        ("EMAIL", "ops@10.0.0.1.example.com")]


def test_digits_of_other_scripts_are_read_as_digits() -> None:
    """A card written in full-width digits is Luhn-checked on its values and redacted whole;
    the placeholder is restored to the original characters."""
    wide = "４１１１ １１１１ １１１１ １１１１"
    redactor = Redactor(build(["card", "phone"]))
    text, counts = redactor.redact(f"paid with {wide}, call +44 ２０ ７９４６ ０９５８")
    assert counts == {"CARD": 1, "PHONE": 1}
    assert text == "paid with <CARD_1>, call <PHONE_1>"
    assert redactor.restore(text) == f"paid with {wide}, call +44 ２０ ７９４６ ０９５８"
    assert found(["card"], "４１１１ １１１１ １１１１ １１１２") == []


def test_values_at_the_edges_of_the_text() -> None:
    text = "4111111111111111 GB82 WEST 1234 5698 7654 32 555-010-0199"
    assert found(["iban", "card", "phone"], text) == [
        ("CARD", "4111111111111111"), ("IBAN", "GB82 WEST 1234 5698 7654 32"),
        ("PHONE", "555-010-0199")]


def test_the_utf8_prefilter_sees_every_digit_of_another_script() -> None:
    """A text whose UTF-8 has no byte of `OTHER_DIGIT_UTF8` skips the search for such digits:
    every decimal digit beyond ASCII must match it (and common non-Latin text must not)."""
    digits = [chr(c) for c in range(0x80, 0x110000) if chr(c).isdecimal()]
    assert len(digits) > 600
    assert all(OTHER_DIGIT_UTF8.search(d.encode()) for d in digits)
    assert OTHER_DIGIT_UTF8.search("Zoë paid 12 € “ok” — 中文 한국어 Привет 😀".encode()) is None
