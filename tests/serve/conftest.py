"""`rlm serve` and `rlm mcp` started by the tests, over a scripted model on loopback."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rlm_toolkit.testing.servers import OpenAIServer

NEEDLE_DOC = ("filler line about nothing in particular\n" * 400 + "The launch code is 4711.\n"
              + "more filler, still nothing\n" * 400)
PASS_REPLY = "Hello from the model itself."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def scripted_model(body: dict[str, Any]) -> str:
    """The root model: code over the context for RLM runs; a plain reply otherwise."""
    messages = body["messages"]
    system = str(messages[0].get("content", ""))
    if "stored in a Python REPL" not in system:
        return PASS_REPLY
    task = str(messages[1]["content"])
    turn = sum(1 for m in messages if m["role"] == "assistant")
    if "launch code" in task:
        return [_repl("import re\ncode = re.search(r'launch code is (\\d+)', context).group(1)"
                      "\nprint(code, llm('Is this a code? ' + code))"),
                _repl("FINAL(code)")][min(turn, 1)]
    if "remember" in task.split("Query:")[-1]:
        return [_repl("secret = context.split()[0]\nprint(secret)"),
                _repl("FINAL(secret)")][min(turn, 1)]
    if "again" in task.split("Query:")[-1]:
        return [_repl("print(secret)"), _repl("FINAL(secret)")][min(turn, 1)]
    return _repl("FINAL('no script for this')")


@pytest.fixture(scope="module")
def model_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(scripted_model) as server:
        yield server


def wait_ready(url: str, proc: subprocess.Popen[str], headers: dict[str, str] | None = None
               ) -> None:
    """Poll until the server answers (bounded), or fail with its stderr."""
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"the server exited: {proc.stderr.read() if proc.stderr else ''}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, headers=headers, timeout=1)
            return
        time.sleep(0.1)
    raise AssertionError("the server did not start")


@contextlib.contextmanager
def rlm_serve(model_server: OpenAIServer, *extra: str,
              env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlm_toolkit.cli.main", "serve", "--model", "openai/m",
         "--base-url", model_server.base_url, "--port", str(port), "--max-body-mb", "1",
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(base + "/models", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def serve_url(model_server: OpenAIServer) -> Iterator[str]:
    with rlm_serve(model_server) as url:
        yield url
