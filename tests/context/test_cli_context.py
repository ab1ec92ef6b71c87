"""`rlm run` with a folder, several paths or a glob as --context, and `--stream`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from rlm_toolkit.testing.servers import OpenAIServer
from tests.context.test_folder import make_repo


def _repl(code: str) -> str:
    return f"Looking at the files.\n```repl\n{code}\n```"


def folder_model(body: dict[str, Any]) -> str:
    messages = body["messages"]
    turn = sum(1 for m in messages if m["role"] == "assistant")
    return [_repl("hit = sorted(p for p in context if '7781' in context[p])\n"
                  "print(len(context), hit)"),
            _repl("FINAL(hit[0])")][min(turn, 1)]


def rlm_run(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlm_toolkit.cli.main", "run", "-q",
                           "Where is the launch code?", "--model", "openai/m", "--base-url",
                           url, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_a_folder_as_context_with_the_stream(tmp_path: Path) -> None:
    make_repo(tmp_path)
    with OpenAIServer(folder_model) as server:
        done = rlm_run(tmp_path, server.base_url, "--context", "repo", "--stream")
        first_prompt = server.requests[0]["messages"][1]["content"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "repo/docs/guide.md"
    err = done.stderr
    assert "--- iteration 1 ---\nLooking at the files." in err  # the root model's tokens
    assert "[output]\n5 ['repo/docs/guide.md']" in err  # the code step's output
    assert "--- success ---" in err
    assert "5 text files" in first_prompt and "repo/logo.png" in first_prompt
    assert "7781" not in first_prompt


def test_several_contexts_and_a_glob(tmp_path: Path) -> None:
    make_repo(tmp_path)
    with OpenAIServer(folder_model) as server:
        done = rlm_run(tmp_path, server.base_url, "--context", "repo/docs", "--context",
                       "repo/src/**/*.py", "--quiet")
        prompt = server.requests[0]["messages"][1]["content"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "repo/docs/guide.md"
    assert "3 text files" in prompt


def test_stdin_cannot_join_other_paths(tmp_path: Path) -> None:
    make_repo(tmp_path)
    done = rlm_run(tmp_path, "http://127.0.0.1:9/v1", "--context", "-", "--context", "repo")
    assert done.returncode == 1
    assert done.stderr.strip() == ("rlm: error: --context -: stdin cannot be combined with "
                                   "other paths")
