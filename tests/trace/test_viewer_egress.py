"""The egress audit in the trace page: a table of what each provider was sent (requests,
characters, context coverage, redactions by kind), and no redacted value anywhere in the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit.cli.main import main
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.browser import Browser, Page, find_chromium
from rlm_toolkit.trace.viewer import from_jsonl, from_trace, render_html, write_html
from rlm_toolkit.trace.viewer.model import egress_of
from tests.helpers import make_rlm, repl

EMAIL = "jane.doe@example.com"
PLANTED = [EMAIL, "+44 20 7946 0958", "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32",
           "sk-proj-abcdefghijklmnopqrstuvwxyz0123", "192.168.10.25"]
CONTEXT = "\n".join([
    f"Customer Jane, mail {EMAIL}, phone {PLANTED[1]}, card {PLANTED[2]}.",
    f"Refund to IBAN {PLANTED[3]} for {EMAIL} (same customer).",
    f"Leaked config: OPENAI_KEY={PLANTED[4]} from host {PLANTED[5]}.",
] + [f"Order {i}: shipped." for i in range(40)])
LIVE: list[Any] = []  # the fixture's live trace


def sub_reply(messages: list[dict[str, Any]]) -> str:
    """Names the first e-mail placeholder it was given (all it can see)."""
    found = re.findall(r"<EMAIL_\d+>", str(messages[-1]["content"]))
    return f"contact {found[0]}" if found else "none"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A real redacting run's trace file and its `result.egress`."""
    root = ScriptedLLM([repl("said = llm('Who is the contact? ' + context[:400])\n"
                             "again = llm('And here? ' + context[:200])\nFINAL(said)")],
                       name="scripted/root")
    sub = ScriptedLLM(sub_reply, name="scripted/sub")
    rlm = make_rlm(root, sub, redact=["email", "phone", "card", "iban", "ip", "secret"])
    result = rlm.run(context=CONTEXT, query="Who is the contact?")
    assert result.status == "success", result.error
    assert result.answer == f"contact {EMAIL}"  # restored on the host
    path = tmp_path_factory.mktemp("egress") / "run.jsonl"
    result.trace.save(path)
    LIVE[:] = [result.trace]
    return path, result.egress


def test_the_view_carries_the_audit_in_counts(saved: tuple[Path, dict[str, Any]]) -> None:
    saved_trace = LIVE
    path, audit = saved
    view = from_jsonl(path)
    assert view.egress is not None and view.egress["policy"] == audit["policy"]
    rows = {row["name"]: row for row in view.egress["providers"]}
    assert set(rows) == set(audit["providers"])
    sub = rows["scripted/sub"]
    assert sub["requests"] == 2
    assert sub["chars_sent"] == audit["providers"]["scripted/sub"]["chars_sent"] > 0
    assert sub["redactions"] == audit["providers"]["scripted/sub"]["redactions"]
    assert set(sub["redactions"]) == {"CARD", "EMAIL", "IBAN", "IP", "PHONE", "SECRET"}
    assert sub["redactions"]["EMAIL"] >= 3  # twice in the first slice, once in the second
    assert 0 < sub["coverage"] < 1 and sub["context_ranges_total"] >= 1
    assert from_trace(saved_trace[0]).egress == view.egress  # the live trace shows the same


def test_no_redacted_value_is_in_the_page(saved: tuple[Path, dict[str, Any]]) -> None:
    page = render_html(from_jsonl(saved[0]))
    assert "egress" in page
    for value in PLANTED:
        assert value not in page, value
        assert json.dumps(value)[1:-1] not in page, value


def test_a_hand_edited_audit_brings_only_counts() -> None:
    """Whatever else a trace file holds under `egress` stays out of the page."""
    shown = egress_of({"policy": "redact", "context_chars": 100, "redactions": {"EMAIL": 2},
                       "providers": {"x": {"local": "yes", "requests": 2, "chars_sent": -5,
                                           "coverage": 7, "redactions": {"EMAIL": EMAIL},
                                           "context_ranges": [[0, 50]], "secret": EMAIL}}})
    assert EMAIL not in json.dumps(shown)
    assert shown is not None and shown["providers"] == [{
        "name": "x", "local": False, "requests": 2, "chars_sent": 0, "context_chars_sent": 0,
        "context_ranges_total": 0, "refused": 0, "withheld_chars": 0, "coverage": 1.0,
        "redactions": {"EMAIL": 0}}]
    assert egress_of(None) is None and egress_of({"providers": []}) is None


def test_trace_show_prints_the_audit_in_counts(saved: tuple[Path, dict[str, Any]],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "show", str(saved[0])]) == 0
    text = " ".join(capsys.readouterr().out.split())  # lines wrap at the terminal's width
    sub = saved[1]["providers"]["scripted/sub"]
    assert f"egress policy: {saved[1]['policy']} (context {len(CONTEXT):,} chars)" in text
    kinds = ", ".join(f"{k} {n}" for k, n in sub["redactions"].items())
    assert f"scripted/sub (remote): 2 request(s), {sub['chars_sent']:,} chars sent" in text
    assert f"redacted: {kinds}" in text
    for value in PLANTED:
        assert value not in text, value


def test_trace_show_escapes_a_hand_edited_provider_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "evil.jsonl"
    root = ScriptedLLM([repl("FINAL('done')")])
    make_rlm(root, redact=["email"]).run(context=CONTEXT, query="q").trace.save(trace)
    lines = trace.read_text().splitlines()
    evil = {"policy": "\x1b[2Jredact", "context_chars": 10,
            "providers": {"evil\x1b]0;x\x07": {"requests": 1, "refused": 2}}}
    def patch(value: Any) -> Any:  # every recorded audit becomes the hand-edited one
        if isinstance(value, dict):
            return {k: evil if k == "egress" and isinstance(v, dict) and "policy" in v
                    else patch(v) for k, v in value.items()}
        return [patch(v) for v in value] if isinstance(value, list) else value
    trace.write_text("\n".join(json.dumps(patch(json.loads(line))) for line in lines) + "\n")
    assert main(["trace", "show", str(trace)]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\x07" not in text
    assert "refused: 2 request(s)" in text


# --- in a real browser ---------------------------------------------------------------------

browser_only = pytest.mark.skipif(
    find_chromium() is None,
    reason="chromium is not installed (Debian package `chromium`; scripts/setup.sh installs it)")


@pytest.fixture(scope="module")
def loaded(saved: tuple[Path, dict[str, Any]]) -> Iterator[Page]:
    page = saved[0].with_suffix(".html")
    write_html(from_jsonl(saved[0]), page)
    with Browser() as browser:
        yield browser.open(page.as_uri())


@browser_only
@pytest.mark.timeout(300)
def test_the_page_shows_the_egress_table(loaded: Page, saved: tuple[Path, dict[str, Any]]) -> None:
    assert loaded.evaluate("document.body.dataset.ready") == "1"
    assert loaded.errors() == []
    assert loaded.evaluate("document.getElementById('egress').hidden") is False
    summary = loaded.evaluate("document.querySelector('#egress summary').textContent")
    assert summary.startswith(f"egress: policy {saved[1]['policy']}")
    total = saved[1]["redactions"]
    assert ", ".join(f"{k} {n}" for k, n in total.items()) in summary
    head = loaded.evaluate(
        "Array.from(document.querySelectorAll('#egress th')).map(e => e.textContent)")
    assert head[:4] == ["provider", "where", "requests", "chars sent"]
    cells = loaded.evaluate("""Array.from(document.querySelectorAll(
        '#egress tr[data-provider="scripted/sub"] td')).map(e => e.textContent)""")
    sub = saved[1]["providers"]["scripted/sub"]
    assert cells[0] == "scripted/sub" and cells[2] == "2"
    assert cells[3] == f"{sub['chars_sent']:,}"
    assert cells[5] == f"{sub['coverage'] * 100:.1f}%"
    assert cells[7] == ", ".join(f"{k} {n}" for k, n in sub["redactions"].items())
    assert cells[7].startswith("CARD ")
    shown = loaded.evaluate("document.documentElement.outerHTML + document.body.innerText")
    for value in PLANTED:
        assert value not in shown, value


@browser_only
@pytest.mark.timeout(300)
def test_a_trace_without_an_audit_shows_no_egress_table(tmp_path: Path) -> None:
    root = ScriptedLLM([repl("FINAL('done')")])
    result = make_rlm(root).run(context="nothing private", query="q")
    view = from_trace(result.trace)
    view.egress = None  # as in a trace saved before the audit existed
    page = tmp_path / "plain.html"
    write_html(view, page)
    with Browser() as browser:
        loaded = browser.open(page.as_uri())
        assert loaded.evaluate("document.body.dataset.ready") == "1"
        assert loaded.evaluate("document.getElementById('egress').hidden") is True
