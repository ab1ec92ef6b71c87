"""Program mode: the user's own code runs in the jail with llm(); only what it passes leaves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.errors import ConfigError
from rlm_toolkit.testing.servers import OpenAIServer

CSV = "name,email,amount\n" + "\n".join(
    f"customer{i},c{i}@shop.example,{i * 10}" for i in range(1, 101))

PROGRAM = """\
rows = [line.split(",") for line in context.splitlines()[1:]]
total = sum(int(r[2]) for r in rows)
verdict = llm(f"{len(rows)} orders, {total} in all. Is that a good month? One word.")
answer["content"] = f"{total} over {len(rows)} orders: {verdict}"
answer["ready"] = True
"""

BROKEN = """\
rows = context.splitlines()
first = rows[1]
ratio = len(rows) / 0
answer["content"] = ratio
"""


def sub_model(body: dict) -> str:
    return "good"


def test_a_program_runs_with_llm_and_returns_its_answer() -> None:
    with OpenAIServer(sub_model) as server:
        rlm = RLM.from_openai("gpt-4o-mini", base_url=server.base_url, api_key="x",
                              config=RLMConfig(step_timeout_s=30))
        result = rlm.run(context=CSV, code=PROGRAM)
        requests = list(server.requests)
    assert result.status == "success", result.error
    assert result.answer == "50500 over 100 orders: good"
    # Exactly one call left the machine, carrying the aggregate and nothing of the rows.
    assert len(requests) == 1
    sent = json.dumps(requests)
    assert "100 orders, 50500 in all" in sent
    assert "customer1" not in sent and "@shop.example" not in sent
    assert result.iterations == 1 and result.subcalls == 1
    entry = result.egress["providers"]["openai/gpt-4o-mini"]
    assert entry["requests"] == 1 and entry["context_chars_sent"] == 0


def test_a_program_error_gives_the_users_own_line_numbers() -> None:
    rlm = RLM.from_openai("gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="x",
                          config=RLMConfig(step_timeout_s=30))
    result = rlm.run(context=CSV, code=BROKEN, program_name="analysis.py")
    assert result.status == "error"
    assert result.error is not None
    assert 'File "analysis.py", line 3' in result.error
    assert "ZeroDivisionError: division by zero" in result.error
    assert "ratio = len(rows) / 0" in result.error
    assert "<repl-" not in result.error


def test_query_and_code_together_are_refused() -> None:
    rlm = RLM.from_openai("gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="x")
    with pytest.raises(ConfigError, match="not both"):
        rlm.run(context=CSV, query="q", code=PROGRAM)


def rlm_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlm_toolkit.cli.main", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_program_with_redaction_and_audit(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text(CSV)
    program = tmp_path / "analysis.py"
    program.write_text('first = context.splitlines()[1]\n'
                       'said = llm("Who is this? " + first)\n'
                       'FINAL(said)\n')
    trace = tmp_path / "run.jsonl"

    def echo(body: dict) -> str:
        return "that is " + body["messages"][-1]["content"].split("? ")[1].split(",")[1]

    with OpenAIServer(echo) as server:
        out = rlm_cli("run", "--program", str(program), "--context", str(data), "--model",
                      "openai/m", "--base-url", server.base_url, "--redact", "email",
                      "--audit", "--trace", str(trace))
        sent = json.dumps(list(server.requests))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "that is c1@shop.example"  # restored on the host
    assert "c1@shop.example" not in sent and "<EMAIL_1>" in sent
    assert "openai/m (remote): 1 request(s)" in out.stderr
    assert "redacted: EMAIL 1" in out.stderr
    assert "c1@shop.example" not in out.stderr
    assert "c1@shop.example" not in trace.read_text()


def test_cli_program_error_names_the_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text(CSV)
    program = tmp_path / "analysis.py"
    program.write_text(BROKEN)
    out = rlm_cli("run", "--program", str(program), "--context", str(data), "--model",
                  "openai/m", "--base-url", "http://127.0.0.1:9/v1")
    assert out.returncode == 3
    assert 'File "analysis.py", line 3' in out.stderr
    assert "ZeroDivisionError" in out.stderr


def test_cli_needs_a_query_or_a_program(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text(CSV)
    out = rlm_cli("run", "--context", str(data), "--model", "openai/m")
    assert out.returncode != 0
    assert "give --query" in out.stderr and "--program" in out.stderr
