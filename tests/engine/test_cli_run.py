"""`rlm run`: a trace that cannot be saved never costs the answer; bad paths get one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_toolkit.cli import run as cli_run
from rlm_toolkit.cli.main import main
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.servers import OpenAIServer
from rlm_toolkit.trace import Trace, load_jsonl

FINAL = "```repl\nFINAL('forty-two')\n```"


def answering(body: dict) -> str:
    """A root model that looks once, then answers."""
    return "```repl\nprint(len(context))\n```" if len(body["messages"]) == 2 else FINAL


def rlm_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlm_toolkit.cli.main", *args],
                          capture_output=True, text=True, timeout=120)


def test_a_trace_path_in_a_missing_folder_is_refused_before_the_run(tmp_path: Path) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("some text")
    target = tmp_path / "no" / "such" / "t.jsonl"
    with OpenAIServer(answering) as server:
        done = rlm_cli("run", "--context", str(doc), "-q", "q", "--model", "openai/m",
                       "--base-url", server.base_url, "--trace", str(target))
        requests = list(server.requests)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"rlm: error: --trace {str(target)!r}: the folder {str(target.parent)!r} does not "
        "exist; create it first or choose another path"
    ]
    assert requests == []  # nothing was spent on a run whose trace could not be kept
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_trace_that_fails_to_save_after_the_run_keeps_the_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("some text")

    def full_disk(self: Trace, path: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Trace, "save", full_disk)
    with OpenAIServer(answering) as server:
        code = main(["run", "--context", str(doc), "-q", "q", "--model", "openai/m",
                     "--base-url", server.base_url, "--quiet", "--trace",
                     str(tmp_path / "t.jsonl")])
    out, err = capsys.readouterr()
    assert out.strip() == "forty-two"
    said = " ".join(err.split())  # the console wraps long lines
    assert "could not save the trace" in said and "No space left on device" in said
    assert code == cli_run.TRACE_NOT_SAVED


def test_save_leaves_no_partial_file_and_keeps_odd_text(tmp_path: Path) -> None:
    root = ScriptedLLM([FINAL])
    from tests.helpers import make_rlm

    result = make_rlm(root).run(context="text", query="odd \udfff query")
    path = tmp_path / "t.jsonl"
    result.trace.save(path)
    assert load_jsonl(path)[-1]["type"] == "result"
    prompt = load_jsonl(path)[1]["prompt"]
    assert "Query: odd \udfff query" in prompt[1]["content"]  # read back as it was
    with pytest.raises(OSError):
        result.trace.save(tmp_path / "missing" / "t.jsonl")
    assert sorted(os.listdir(tmp_path)) == ["t.jsonl"]


def test_a_fifo_as_context_is_named_for_what_it_is(tmp_path: Path) -> None:
    target = tmp_path / "in"
    os.mkfifo(target)  # (a folder is a context of its own: tests/context)
    done = rlm_cli("run", "--context", str(target), "-q", "q", "--model", "openai/m")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "is a named pipe (FIFO)" in lines[0]
    assert "not found" not in lines[0]
