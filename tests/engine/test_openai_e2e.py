"""End to end over the OpenAI chat-completions wire, against a server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.testing.servers import OpenAIServer

NEEDLE = "The launch code is 7-ALPHA-42."


def haystack(n: int = 400_000) -> str:
    filler = "".join(f"Paragraph {i}. Nothing of note happens here today.\n" for i in range(n // 48))
    mid = len(filler) * 2 // 3
    return filler[:mid] + NEEDLE + "\n" + filler[mid:]


def is_root(body: dict) -> bool:
    """A root request starts with the RLM system prompt (a sub-call with the pinned goal)."""
    return str(body["messages"][0]["content"]).startswith("You answer a query")


def scripted_server_reply(body: dict) -> str:
    """A model that greps, asks a sub-call, then answers: driven by what it was sent."""
    messages = body["messages"]
    if not is_root(body):
        return "7-ALPHA-42"  # a sub-call: answer from the slice it was given
    if len(messages) == 2:
        return "```repl\nhits = grep('launch code')\nprint(hits)\n```"
    if len(messages) == 4:
        return "```repl\ncode = llm('Extract the code from: ' + hits[0])\nprint(code)\n```"
    return "FINAL_VAR(code)"


def test_quick_start_from_openai_with_base_url() -> None:
    doc = haystack()
    with OpenAIServer(scripted_server_reply) as server:
        rlm = RLM.from_openai("gpt-4o-mini", base_url=server.base_url, api_key="x",
                              config=RLMConfig(step_timeout_s=20))
        result = rlm.run(context=doc, query="What is the launch code?")
        requests = list(server.requests)
    assert result.status == "success"
    assert result.answer == "7-ALPHA-42"
    assert result.subcalls == 1
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.cost == 0.0  # a loopback server costs nothing
    root_requests = [r for r in requests if is_root(r)]
    assert len(root_requests) == 3
    assert NEEDLE not in json.dumps(root_requests[0])  # the model starts from metadata only
    for body in root_requests:
        text = json.dumps(body)
        assert len(text) < 20_000  # never the 400K-character context, only code output
        assert doc[:5_000] not in text
        assert body["model"] == "gpt-4o-mini"
    sub_requests = [r for r in requests if not is_root(r)]
    assert NEEDLE in sub_requests[0]["messages"][-1]["content"]  # only the slice left, to the sub


def test_async_arun_over_the_wire() -> None:
    import asyncio

    with OpenAIServer(scripted_server_reply) as server:
        rlm = RLM(root="openai/gpt-4o-mini", base_url=server.base_url, api_key="x")
        result = asyncio.run(rlm.arun(context=haystack(50_000), query="launch code?"))
    assert result.answer == "7-ALPHA-42"


def rlm_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlm_toolkit.cli.main", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_cli_run_prints_answer_and_json_and_saves_trace(tmp_path) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text(haystack(60_000))
    trace = tmp_path / "t.jsonl"
    with OpenAIServer(scripted_server_reply) as server:
        plain = rlm_cli("run", "--context", str(doc), "--query", "launch code?", "--model",
                        "openai/gpt-4o-mini", "--base-url", server.base_url)
        as_json = rlm_cli("run", "--context", "-", "--query", "launch code?", "--model",
                          "openai/m", "--base-url", server.base_url, "--json", "--trace", str(trace),
                          stdin=doc.read_text())
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "7-ALPHA-42"
    assert "3 iterations" in plain.stderr and "1 sub-calls" in plain.stderr
    data = json.loads(as_json.stdout)
    assert data["answer"] == "7-ALPHA-42" and data["status"] == "success"
    assert trace.read_text().count('"type": "iteration"') == 3


def test_cli_errors_are_one_line_with_the_fix(tmp_path) -> None:
    missing = rlm_cli("run", "--context", str(tmp_path / "nope.txt"), "-q", "x", "--model", "openai/m")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"rlm: error: context file '{tmp_path / 'nope.txt'}' not found: give an existing file, or - for stdin"
    ]
    doc = tmp_path / "d.txt"
    doc.write_text("x")
    unknown = rlm_cli("run", "--context", str(doc), "-q", "x", "--model", "nosuch/m")
    assert unknown.returncode == 1 and "unknown provider 'nosuch'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    down = rlm_cli("run", "--context", str(doc), "-q", "x", "--model", "openai/m",
                   "--base-url", "http://127.0.0.1:9/v1")
    assert down.returncode == 1
    assert "openai/m at http://127.0.0.1:9/v1" in down.stderr
    assert "Is the server running" in down.stderr
    assert "Traceback" not in down.stderr
