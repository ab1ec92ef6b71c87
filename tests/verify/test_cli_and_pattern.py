"""`rlm run --cite/--verify` over an OpenAI-wire server on 127.0.0.1, and grounded_answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit.cli.main import main
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.servers import OpenAIServer
from rlm_toolkit.verify import grounded_answer
from tests.helpers import make_rlm, repl

DOC = "Visitors' book.\nThe lantern fair is held in Ostrava.\nThe bridge opened in 1931.\n"


def model(body: dict[str, Any]) -> str:
    """Root: grep, then answer citing the match. Judge: supported when shown the fair's line."""
    text = body["messages"][-1]["content"]
    if text.startswith("You check whether an answer"):
        return "SUPPORTED: the line names Ostrava" if "Ostrava." in text else "NOT: no"
    turns = sum(m["role"] == "assistant" for m in body["messages"])
    return [repl("hits = grep('lantern')\nprint(hits)"),
            repl("FINAL('Ostrava', cite=[hits[0]])")][turns]


def test_rlm_run_cite_prints_the_answer_then_numbered_citations(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text(DOC)
    with OpenAIServer(model) as server:
        code = main(["run", "--context", str(doc), "-q", "Where is the lantern fair?",
                     "--model", "openai/m", "--base-url", server.base_url, "--quiet",
                     "--cite", "--verify"])
        judged = [r for r in server.requests
                  if r["messages"][-1]["content"].startswith("You check")]
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == "Ostrava"
    assert out[2] == '[1] line 2 (chars 16-52): "The lantern fair is held in Ostrava."'
    assert "verifier: supported: the line names Ostrava" in out
    assert out[-1] == "grounded"
    assert len(judged) == 1


def test_rlm_run_marks_an_invalid_citation_as_unverified(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text(DOC)

    def forger(body: dict[str, Any]) -> str:
        turns = sum(m["role"] == "assistant" for m in body["messages"])
        return [repl("print(grep('fair'))"),
                repl("FINAL('Brno', cite=['The lantern fair is held in Brno.'])")][turns]

    with OpenAIServer(forger) as server:
        code = main(["run", "--context", str(doc), "-q", "Where is the fair?", "--model",
                     "openai/m", "--base-url", server.base_url, "--quiet", "--cite"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[:2] == ["Brno", "[unverified: a citation does not match the data]"]
    assert ('[1] not in the data: "The lantern fair is held in Brno."  INVALID: the quoted '
            "text is not in the context") in out
    assert out.strip().endswith("UNVERIFIED")


def test_grounded_answer_drafts_checks_and_fixes() -> None:
    # The draft cites the wrong line; the verifier rejects it (twice, so the draft run ends
    # unverified); the fix run is told why and cites the right line.
    root = ScriptedLLM([
        repl("hits = grep('bridge|fair')\nprint(hits)"),
        repl("FINAL('1931', cite=[hits[0]])"),
        repl("FINAL('1931', cite=[hits[0]])"),
        repl("hits = grep('fair')\nprint(hits)"),
        repl("FINAL('Ostrava', cite=[hits[0]])"),
    ])

    def judge(messages: list[dict[str, str]]) -> str:
        text = messages[-1]["content"]
        return ("SUPPORTED: names the place" if "Answer: Ostrava" in text
                else "NOT: that line is about the bridge")

    rlm = make_rlm(root, ScriptedLLM(judge))
    result = grounded_answer(rlm, DOC, "Where is the lantern fair held?")
    assert result.answer == "Ostrava" and result.grounded is True
    assert result.extra["grounded_answer"] == {"draft": "1931", "draft_grounded": False,
                                               "fixed": True}
    fix_prompt = root.requests[3][1]["content"]
    assert "A first answer was '1931'" in fix_prompt and "about the bridge" in fix_prompt
