"""`rlm mcp` driven by the mcp SDK's own client over stdio: tools, runs on a file and a folder,
trace resources, memory tools, and what a bad call is told."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from pydantic import AnyUrl

from rlm_toolkit.testing.servers import OpenAIServer
from tests.serve.conftest import NEEDLE_DOC

ROOT = Path(__file__).parents[2]


def _repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def folder_model(body: dict[str, Any]) -> str:
    """Finds the file that holds the launch code, in a folder context; else reads the text."""
    messages = body["messages"]
    turn = sum(1 for m in messages if m["role"] == "assistant")
    if "- type: folder" in str(messages[1]["content"]):
        return [_repl("hit = [p for p in context if 'launch code' in context[p]]\nprint(hit)"),
                _repl("FINAL(hit[0])")][min(turn, 1)]
    return [_repl("import re\ncode = re.search(r'launch code is (\\d+)', context).group(1)\n"
                  "print(code)"), _repl("FINAL(code)")][min(turn, 1)]


async def _drive(url: str, tmp: Path) -> dict[str, Any]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "rlm_toolkit.cli.main", "mcp", "--model", "openai/m", "--base-url", url,
              "--memory", str(tmp / "mem.db")],
        env={**os.environ}, cwd=str(tmp))
    out: dict[str, Any] = {}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        out["tools"] = {t.name: t for t in (await session.list_tools()).tools}
        on_file = await session.call_tool("rlm_run", {"query": "What is the launch code?",
                                                      "context_path": "doc.txt"})
        out["file"] = on_file.structuredContent
        on_folder = await session.call_tool("rlm_run", {"query": "Which file has the code?",
                                                        "context_path": "repo",
                                                        "max_iterations": 5})
        out["folder"] = on_folder.structuredContent
        out["both"] = await session.call_tool("rlm_run", {"query": "q", "context": "x",
                                                          "context_path": "doc.txt"})
        listed = await session.read_resource(AnyUrl("rlm://traces"))
        out["traces"] = json.loads(listed.contents[0].text)  # type: ignore[union-attr]
        one = await session.read_resource(AnyUrl(out["file"]["trace"]))
        out["trace"] = json.loads(one.contents[0].text)  # type: ignore[union-attr]
        await session.call_tool("memory_add", {"text": "The user prefers short answers"})
        found = await session.call_tool("memory_search", {"query": "short answers"})
        out["memory"] = found.content[0].text  # type: ignore[union-attr]
    return out


def test_rlm_mcp_over_stdio_with_the_sdk_client(tmp_path: Path) -> None:
    (tmp_path / "doc.txt").write_text(NEEDLE_DOC)
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "main.py").write_text("print('hi')\n")
    (repo / "notes.md").write_text("The launch code is 4711.\n")
    (repo / "blob.bin").write_bytes(b"\0\1\2")
    with OpenAIServer(folder_model) as server:
        out = asyncio.run(asyncio.wait_for(_drive(server.base_url, tmp_path), 180))
        sent = [json.dumps(b) for b in server.requests]
    assert set(out["tools"]) == {"rlm_run", "memory_add", "memory_search"}
    schema = out["tools"]["rlm_run"].inputSchema
    assert schema["required"] == ["query"]
    assert {"context_path", "context", "max_iterations", "max_cost"} <= set(schema["properties"])
    assert out["file"]["answer"] == "4711" and out["file"]["status"] == "success"
    assert out["folder"]["answer"] == "repo/notes.md", out["folder"]
    assert not any("launch code is 4711" in s for s in sent)  # files read in the REPL only
    assert out["both"].isError
    assert "give context_path (a file or a folder) or context" in out["both"].content[0].text
    assert [t["query"] for t in out["traces"]] == ["What is the launch code?",
                                                   "Which file has the code?"]
    assert "What is the launch code?" in json.dumps(out["trace"])
    assert "short answers" in out["memory"]


async def _over_http(url: str) -> tuple[list[str], Any]:
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url) as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        names = [t.name for t in (await session.list_tools()).tools]
        done = await session.call_tool("rlm_run", {"query": "What is the launch code?",
                                                   "context": NEEDLE_DOC})
        return names, done.structuredContent


def test_rlm_mcp_over_streamable_http(tmp_path: Path) -> None:
    import socket
    import subprocess
    import time

    from tests.serve.conftest import free_port

    port = free_port()
    with OpenAIServer(folder_model) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rlm_toolkit.cli.main", "mcp", "--http", "--port", str(port),
             "--model", "openai/m", "--base-url", server.base_url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        try:
            for _ in range(300):  # bounded wait for the port
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
            names, result = asyncio.run(asyncio.wait_for(
                _over_http(f"http://127.0.0.1:{port}/mcp"), 120))
        finally:
            proc.terminate()
            proc.wait(20)
    assert names == ["rlm_run"]  # no --memory: no memory tools
    assert result["answer"] == "4711"


def test_rlm_mcp_http_refuses_a_non_loopback_bind() -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "rlm_toolkit.cli.main", "mcp", "--http",
                           "--host", "0.0.0.0", "--model", "openai/m"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "serves loopback only" in done.stderr
