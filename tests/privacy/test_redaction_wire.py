"""Redaction checked at the wire: a context full of planted PII, a scripted model over a
loopback OpenAI server; nothing planted reaches the server, the answer has it back."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.testing.servers import OpenAIServer

EMAILS = ["jane.doe@example.com", "bob.smith+billing@corp.example.org"]
PHONES = ["+44 20 7946 0958", "(555) 010-0199"]
CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004"]
IBANS = ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"]
KEYS = ["sk-proj-abcdefghijklmnopqrstuvwxyz0123", "AKIAIOSFODNN7EXAMPLE"]
IPS = ["192.168.10.25"]
PLANTED = EMAILS + PHONES + CARDS + IBANS + KEYS + IPS


def pii_context() -> str:
    rows = [f"Order {i}: shipped, nothing of note." for i in range(200)]
    rows[10] = f"Customer Jane, mail {EMAILS[0]}, phone {PHONES[0]}, card {CARDS[0]}."
    rows[50] = f"Refund to IBAN {IBANS[0]} for {EMAILS[0]} (same customer again)."
    rows[90] = f"Bob: {EMAILS[1]}, tel {PHONES[1]}, card {CARDS[1]}, IBAN {IBANS[1]}."
    rows[130] = f"Leaked config: OPENAI_KEY={KEYS[0]} aws {KEYS[1]} from host {IPS[0]}."
    return "\n".join(rows)


def is_sub(body: dict) -> bool:
    return str(body["messages"][-1]["content"]).startswith(("Who is the contact", "ok?"))


def scripted(body: dict) -> str:
    """Root: one sub-call per 50 rows, then FINAL of what the sub-calls said. Sub: names the
    first e-mail placeholder it was given (all it can see)."""
    messages = body["messages"]
    if is_sub(body):
        found = re.findall(r"<EMAIL_\d+>", messages[-1]["content"])
        return f"contact {found[0]}" if found else "none"
    if len(messages) == 2:
        return ("```repl\nrows = context.splitlines()\n"
                "parts = ['\\n'.join(rows[i:i + 50]) for i in range(0, 200, 50)]\n"
                "said = llm_batch(['Who is the contact here?\\n' + p for p in parts])\n"
                "print(said)\n```")
    return ("```repl\nFINAL(said[0] + ' / ' + said[1] + ' / ' + said[3] + ' | ' + "
            "rows[130].split('=')[1].split()[0])\n```")


def test_sub_calls_carry_no_pii_and_the_answer_has_it_back(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    doc = pii_context()
    cfg = RLMConfig(redact=["email", "phone", "card", "iban", "ip", "secret"],
                    step_timeout_s=30)
    with OpenAIServer(scripted) as server:
        rlm = RLM.from_openai("gpt-4o-mini", base_url=server.base_url, api_key="x", config=cfg)
        result = rlm.run(context=doc, query="Who are the contacts?")
        requests = list(server.requests)

    assert result.status == "success", result.error
    wire = json.dumps(requests, ensure_ascii=False)
    for value in PLANTED:
        assert value not in wire, f"{value} reached the provider"
    subs = sorted((r["messages"][-1]["content"] for r in requests if is_sub(r)),
                  key=lambda text: int(re.findall(r"Order (\d+)", text)[0]))
    assert len(subs) == 4
    # The same value has the same placeholder wherever it appears (rows 10 and 50).
    assert "<EMAIL_1>" in subs[0] and "<EMAIL_1>" in subs[1]
    assert "<EMAIL_2>" in subs[1] or "<EMAIL_2>" in subs[2] or "<EMAIL_2>" in subs[3]
    assert subs[0].count("<CARD_1>") == 1 and "<PHONE_1>" in subs[0]
    assert "<IBAN_" in subs[1] and "<SECRET_" in subs[2] and "<IP_1>" in subs[2]
    # The host restored the placeholders: the answer has the real values.
    assert result.answer == (f"contact {EMAILS[0]} / contact {EMAILS[0]} / none | {KEYS[0]}")

    audit = result.egress
    entry = audit["providers"]["openai/gpt-4o-mini"]
    assert entry["local"] is False
    assert entry["requests"] == len(requests)
    assert entry["redactions"]["EMAIL"] >= 3 and entry["redactions"]["CARD"] == 2
    assert entry["redactions"]["IBAN"] == 2 and entry["redactions"]["SECRET"] == 2
    assert 0.5 < entry["coverage"] <= 1.0  # the sub-calls carried the rows, redacted

    trace_file = tmp_path / "trace.jsonl"
    result.trace.save(trace_file)
    saved = trace_file.read_text()
    in_memory = json.dumps(result.trace.to_dict(), ensure_ascii=False)
    for value in PLANTED:
        assert value not in saved, f"{value} is in the trace file"
        assert value not in in_memory, f"{value} is in the trace"
        assert value not in json.dumps(audit), f"{value} is in the audit"
        assert value not in caplog.text, f"{value} was logged"
    assert "<EMAIL_1>" in saved
    run_span = result.trace.root
    assert run_span is not None and run_span.attrs["egress"] == audit


def test_without_redact_the_values_do_leave() -> None:
    """The control: the same run with no redaction sends the values (the test can fail)."""
    with OpenAIServer(scripted) as server:
        rlm = RLM.from_openai("gpt-4o-mini", base_url=server.base_url, api_key="x",
                              config=RLMConfig(step_timeout_s=30))
        result = rlm.run(context=pii_context(), query="Who are the contacts?")
        wire = json.dumps(list(server.requests), ensure_ascii=False)
    assert EMAILS[0] in wire and CARDS[0] in wire
    assert result.egress["providers"]["openai/gpt-4o-mini"]["redactions"] == {}


def test_egress_redact_uses_all_six_detectors_and_restores_the_root_reply() -> None:
    """egress="redact" without a list redacts every built-in kind; a placeholder the root
    writes in its code is turned back into the value before the code runs on the host."""
    def root(body: dict) -> str:
        messages = body["messages"]
        if len(messages) == 2:
            return "```repl\nprint(grep('Leaked'))\n```"
        seen = messages[-1]["content"]
        key = re.search(r"<SECRET_\d+>", seen)
        assert key is not None, seen
        return f"```repl\nFINAL(str(context.count('{key.group()}')) + ' ' + '{key.group()}')\n```"

    with OpenAIServer(root) as server:
        rlm = RLM.from_openai("gpt-4o-mini", base_url=server.base_url, api_key="x",
                              config=RLMConfig(egress="redact", step_timeout_s=30))
        result = rlm.run(context=pii_context(), query="Which key leaked?")
        wire = json.dumps(list(server.requests), ensure_ascii=False)
    assert KEYS[0] not in wire and IPS[0] not in wire
    # The code ran with the real key (found once in the context); the answer shows it.
    assert result.answer == f"1 {KEYS[0]}", result.error
