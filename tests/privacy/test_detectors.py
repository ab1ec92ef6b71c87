"""The detectors, the placeholders and the verbatim index, on their own."""

from __future__ import annotations

import re

import pytest

from rlm_toolkit import RLMConfig
from rlm_toolkit.errors import ConfigError
from rlm_toolkit.privacy import Detector, Egress, EgressRefused, Redactor, build
from rlm_toolkit.privacy.ner import available
from rlm_toolkit.privacy.verbatim import ContextIndex
from rlm_toolkit.providers.base import CompletionOptions
from rlm_toolkit.testing.scripted import ScriptedLLM


def found(kind: str, text: str) -> list[str]:
    redactor = Redactor(build([kind]))
    return [text[a:b] for a, b, _ in redactor.spans(text)]


@pytest.mark.parametrize(("kind", "text", "values"), [
    ("email", "write to jane.doe+x@mail.example.co.uk, or j@x.io.", ["jane.doe+x@mail.example.co.uk",
                                                                     "j@x.io"]),
    ("phone", "call +44 20 7946 0958 or (555) 010-0199 or 555-010-0199 today",
     ["+44 20 7946 0958", "(555) 010-0199", "555-010-0199"]),
    ("card", "paid with 4111 1111 1111 1111 and 378282246310005", ["4111 1111 1111 1111",
                                                                    "378282246310005"]),
    ("iban", "to GB82 WEST 1234 5698 7654 32 AND DE89370400440532013000.",
     ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"]),
    ("ip", "from 10.0.0.1, 2001:db8::8a2e:370:7334 and ::1.", ["10.0.0.1",
                                                               "2001:db8::8a2e:370:7334", "::1"]),
    ("secret", "key AKIAIOSFODNN7EXAMPLE, token ghp_" + "a" * 36 + ", api_key = 'hunter2hunter2'",
     ["AKIAIOSFODNN7EXAMPLE", "ghp_" + "a" * 36, "hunter2hunter2"]),
])
def test_each_builtin_finds_its_values(kind: str, text: str, values: list[str]) -> None:
    assert found(kind, text) == values


@pytest.mark.parametrize(("kind", "text"), [
    ("card", "4111 1111 1111 1112"),  # fails the Luhn check
    ("card", "order 2024-01-15 2024-01-16"),  # dates, not a card
    ("iban", "GB82 WEST 1234 5698 7654 33"),  # fails mod 97
    ("ip", "version 999.1.1.1 and 1.2.3"),
    ("ip", "at 12:30:45 sharp"),
    ("phone", "on 2024-01-15, total 42.50 42.50, id 1234567890"),
    ("email", "not an address: user@localhost"),
])
def test_lookalikes_are_left_alone(kind: str, text: str) -> None:
    assert found(kind, text) == []


def test_placeholders_are_stable_and_restored() -> None:
    redactor = Redactor(build(["email", "card"]))
    first, counts = redactor.redact("a@x.org paid 4111111111111111; b@y.org too; a@x.org again")
    assert first == "<EMAIL_1> paid <CARD_1>; <EMAIL_2> too; <EMAIL_1> again"
    assert counts == {"EMAIL": 3, "CARD": 1}
    second, _ = redactor.redact("later: b@y.org")
    assert second == "later: <EMAIL_2>"
    assert redactor.restore("<EMAIL_2> and <EMAIL_1>, not <EMAIL_9>") == \
        "b@y.org and a@x.org, not <EMAIL_9>"


def test_overlaps_go_to_the_earlier_detector() -> None:
    """A card number inside a secret assignment is one SECRET, not a CARD in a SECRET."""
    redactor = Redactor(build(["card", "secret"]))
    text, counts = redactor.redact("password=4111111111111111")
    assert text == "password=<SECRET_1>" and counts == {"SECRET": 1}


def test_custom_patterns() -> None:
    order = Detector.regex("order", r"ORD-\d{6}")
    redactor = Redactor(build([order, re.compile(r"EMP(\d{4})"), "email"]))
    text, counts = redactor.redact("ORD-123456 by EMP0042 (x@y.io)")
    assert text == "<ORDER_1> by EMP<CUSTOM_1> (<EMAIL_1>)"
    assert counts == {"ORDER": 1, "CUSTOM": 1, "EMAIL": 1}


def test_bad_configuration_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="unknown redact entry 'emial'"):
        RLMConfig(redact=["emial"])
    with pytest.raises(ConfigError, match="must be a list"):
        RLMConfig(redact="email")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="egress must be one of allow, redact, local-only"):
        RLMConfig(egress="none")
    with pytest.raises(ConfigError, match="matches an empty string"):
        Detector.regex("x", r"\d*")
    with pytest.raises(ConfigError, match="does not compile"):
        Detector.regex("x", r"(")


def test_the_verbatim_index_finds_whole_pieces() -> None:
    context = "".join(f"line {i} says something different {i * 7}\n" for i in range(500))
    index = ContextIndex(context)
    prompt = "Summarise: " + context[1000:1450] + " and " + context[5001:5064] + "|thanks"
    pieces = index.pieces(prompt)  # any piece of 2K - 1 = 63 characters or more is found
    assert [(p.ctx_range, p.length) for p in pieces] == [((1000, 1450), 450), ((5001, 5064), 63)]
    assert index.pieces("nothing from the context here at all, really nothing") == []


async def test_local_only_refuses_a_sub_call_and_withholds_from_the_root() -> None:
    context = "".join(f"record {i}: value {i * 13}\n" for i in range(400))
    egress = Egress("local-only", None, context)
    remote = ScriptedLLM(["ok"], name="cloud/model")
    with pytest.raises(EgressRefused, match="Send an aggregate"):
        await egress.gate(remote, "sub").complete(
            [{"role": "user", "content": context[:1000]}], _options())
    assert remote.calls == 0
    root = ScriptedLLM(["ok"], name="cloud/model")
    await egress.gate(root, "root").complete(
        [{"role": "user", "content": "Output:\n" + context[:1000]}], _options())
    assert context[:1000] not in root.requests[0][0]["content"]
    assert "[withheld: 1,000 characters" in root.requests[0][0]["content"]
    local = ScriptedLLM(["ok"], name="local/qwen")
    await egress.gate(local, "sub").complete([{"role": "user", "content": context[:1000]}],
                                             _options())
    assert local.requests[0][0]["content"] == context[:1000]


def _options() -> CompletionOptions:
    return CompletionOptions()


@pytest.mark.skipif(available() is not None, reason=str(available()))
def test_presidio_finds_names() -> None:
    redactor = Redactor(build(["person"]))
    text, counts = redactor.redact("Yesterday Angela Merkel met the team in Berlin.")
    assert "Angela Merkel" not in text and counts["PERSON"] == 1
    assert redactor.restore(text) == "Yesterday Angela Merkel met the team in Berlin."
