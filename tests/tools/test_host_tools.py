"""Host tools: the user's functions and an MCP server's tools, called from model code."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.errors import ToolError
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.servers import OpenAIServer
from rlm_toolkit.tools import MCPServer
from tests.helpers import repl

DOC = "Order 17 was placed by customer C-42."
HERE = Path(__file__).parent


def make(root: Any, tools: Any, **config: Any) -> RLM:
    config.setdefault("step_timeout_s", 20)
    return RLM(root, None, RLMConfig(**config), tools=tools)


def test_a_host_function_is_called_from_model_code_and_traced() -> None:
    calls: list[tuple[Any, ...]] = []

    def customer(customer_id: str, with_orders: bool = False) -> dict[str, Any]:
        """The customer record for an id like C-42."""
        calls.append((customer_id, with_orders, threading.current_thread().name))
        return {"id": customer_id, "name": "Grace", "orders": [17] if with_orders else []}

    root = ScriptedLLM([repl("c = customer('C-42', with_orders=True)\nprint(c.name, c.orders)"),
                        repl("FINAL(c.name)")])
    result = make(root, {"customer": customer}).run(context=DOC, query="Who placed order 17?")
    assert result.answer == "Grace"
    assert calls and calls[0][:2] == ("C-42", True)
    assert "Grace [17]" in root.requests[1][-1]["content"]
    task = root.requests[0][1]["content"]
    assert ("customer(customer_id: str, with_orders: bool = False) -> dict[str, Any] "
            "-- The customer record for an id like C-42.") in task
    spans = result.trace.spans("tool")
    assert [s.name for s in spans] == ["tool customer"]
    assert '"C-42"' in spans[0].attrs["arguments"] and "Grace" in spans[0].attrs["result"]
    assert result.subcalls == 1  # a tool call counts as a sub-call


def test_a_tool_that_raises_gives_the_model_a_tool_error() -> None:
    def lookup(key: str) -> str:
        """Look a key up."""
        raise KeyError(f"no record {key}")

    root = ScriptedLLM([
        repl("try:\n    lookup('x')\nexcept ToolError as e:\n    print('caught:', e)"),
        repl("lookup('y')"),
        repl("FINAL('done')"),
    ])
    result = make(root, {"lookup": lookup}).run(context=DOC, query="q")
    assert "caught: tool lookup failed: KeyError: 'no record x'" in root.requests[1][-1]["content"]
    assert "ToolError: tool lookup failed: KeyError: 'no record y'" in \
        root.requests[2][-1]["content"]
    assert result.status == "success"
    assert all(s.error for s in result.trace.spans("tool"))


def test_arguments_that_are_not_json_are_refused_before_the_tool_runs() -> None:
    called: list[Any] = []

    def save(value: Any) -> str:
        called.append(value)
        return "saved"

    root = ScriptedLLM([repl("save({1, 2})"), repl("save(float('nan'))"), repl("FINAL('x')")])
    result = make(root, {"save": save}).run(context=DOC, query="q")
    assert "ToolError: save(): the arguments must be JSON data" in root.requests[1][-1]["content"]
    assert "set is not JSON serializable" in root.requests[1][-1]["content"]
    assert "ToolError: save(): the arguments must be JSON data" in root.requests[2][-1]["content"]
    assert called == []
    assert result.trace.spans("tool") == []


def test_a_result_that_is_not_json_is_an_error_not_a_crash() -> None:
    root = ScriptedLLM([repl("when()"), repl("FINAL('x')")])
    result = make(root, {"when": lambda: object()}).run(context=DOC, query="q")
    assert "its result is not JSON" in root.requests[1][-1]["content"]
    assert result.status == "success"


def test_a_slow_tool_is_stopped_by_the_step_limit() -> None:
    release = threading.Event()

    def slow() -> str:
        """Never answers in time."""
        release.wait(60)
        return "late"

    root = ScriptedLLM([repl("print(slow())"), repl("FINAL('gave up')")])
    try:
        result = make(root, {"slow": slow}, step_timeout_s=1).run(context=DOC, query="q")
    finally:
        release.set()
    feedback = root.requests[1][-1]["content"]
    assert "late" not in feedback
    assert ("ToolError: tool slow failed: ToolError: it ran past the step limit "
            "(step_timeout_s=1s) and was stopped") in feedback
    assert result.answer == "gave up"
    assert "step limit" in (result.trace.spans("tool")[0].error or "")


def test_tool_calls_count_against_the_call_limits() -> None:
    root = ScriptedLLM([repl("for i in range(5):\n    print(ping(i))"), repl("FINAL('x')")])
    result = make(root, {"ping": lambda i: i}, max_calls_per_step=3).run(context=DOC,
                                                                         query="q")
    feedback = root.requests[1][-1]["content"]
    assert "0\n1\n2" in feedback and "at most 3 are allowed per step" in feedback
    root = ScriptedLLM([repl("for i in range(5):\n    print(ping(i))"), repl("FINAL('x')")])
    result = make(root, {"ping": lambda i: i}, max_subcalls=2).run(context=DOC, query="q")
    assert result.status == "max_subcalls"
    assert len(result.trace.spans("tool")) == 2


def test_a_tool_name_that_model_code_cannot_call_is_refused() -> None:
    with pytest.raises(ToolError, match="not a Python identifier"):
        RLM(ScriptedLLM([]), tools={"look-up": lambda: 1})
    with pytest.raises(ToolError, match="not callable"):
        RLM(ScriptedLLM([]), tools={"x": 3})


def test_every_factory_takes_tools() -> None:
    def answer() -> int:
        return 42

    def wire(body: dict[str, Any]) -> str:
        return repl("print(answer())") if len(body["messages"]) == 2 else repl(
            "FINAL(answer())")

    with OpenAIServer(wire) as server:
        rlm = RLM.from_openai("m", base_url=server.base_url, api_key="x",
                              config=RLMConfig(step_timeout_s=20), tools={"answer": answer})
        assert rlm.run(context=DOC, query="q").answer == "42"


def test_an_mcp_server_started_over_stdio_exposes_its_tools() -> None:
    pytest.importorskip("mcp")
    server = MCPServer([sys.executable, str(HERE / "mcp_server.py")])
    root = ScriptedLLM([
        repl("print(items())\nprint(stock(item='apple'))\n"
             "try:\n    stock(item='kiwi')\nexcept ToolError as e:\n    print('error:', e)"),
        repl("FINAL(stock(item='apple'))"),
    ])
    result = make(root, server).run(context=DOC, query="How many apples?")
    assert result.answer == "12"
    feedback = root.requests[1][-1]["content"]
    assert "['apple', 'pear']\n12" in feedback
    assert "error: tool stock failed" in feedback and "unknown item 'kiwi'" in feedback
    task = root.requests[0][1]["content"]
    assert "stock(item) -- How many of `item` are in stock." in task
    assert [s.name for s in result.trace.spans("tool")] == [
        "tool items", "tool stock", "tool stock", "tool stock"]


def test_an_mcp_command_that_fails_says_so() -> None:
    pytest.importorskip("mcp")
    server = MCPServer([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(ToolError, match="could not be started"):
        make(ScriptedLLM([]), server).run(context=DOC, query="q")
