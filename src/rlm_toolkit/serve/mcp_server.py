"""The MCP server (official `mcp` SDK, extra `[mcp]`): an RLM as tools for any MCP client.

Tools: `rlm_run` (a query over a file, a folder or given text), and `memory_add` /
`memory_search` when a memory path is given. Resources: the traces of recent runs
(`rlm://traces` lists them, `rlm://traces/{run_id}` is one as JSON).
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp.server.fastmcp import FastMCP

from ..engine import RLM
from ..engine.result import RLMResult
from ..errors import ConfigError

KEPT_TRACES = 20


class RecentTraces:
    """The last `limit` runs' traces, by run id."""

    def __init__(self, limit: int = KEPT_TRACES) -> None:
        self.limit = limit
        self.items: OrderedDict[str, tuple[str, RLMResult]] = OrderedDict()
        self._ids = itertools.count(1)

    def add(self, query: str, result: RLMResult) -> str:
        run_id = f"run-{next(self._ids)}"
        self.items[run_id] = (query, result)
        while len(self.items) > self.limit:
            self.items.popitem(last=False)
        return run_id


def _context_from(context_path: str | None, context: str | None) -> Any:
    if (context_path is None) == (context is None):
        raise ConfigError("give context_path (a file or a folder) or context (text), one of the "
                          "two")
    if context is not None:
        return context
    path = Path(str(context_path)).expanduser()
    if not path.exists():
        raise ConfigError(f"context_path {str(path)!r} not found: give an existing file or "
                          "folder (relative paths start at the server's working folder)")
    return path


def build_server(rlm: RLM, *, memory_path: str | None = None,
                 make_memory: Callable[[str], Any] | None = None, host: str = "127.0.0.1",
                 port: int = 8000) -> FastMCP:
    """The MCP server over `rlm` (and a memory at `memory_path`, when given)."""
    server: FastMCP = FastMCP("rlm", instructions=(
        "rlm_run answers a question about a file, a folder or a long text that is too large "
        "for a prompt: the text stays outside the model, which reads it with code."),
        host=host, port=port)
    traces = RecentTraces()

    @server.tool()
    async def rlm_run(query: str, context_path: str | None = None, context: str | None = None,
                      max_iterations: int | None = None, max_tokens: int | None = None,
                      max_cost: float | None = None, timeout_s: float | None = None
                      ) -> dict[str, Any]:
        """Answer `query` about `context_path` (a file or a folder) or `context` (text).

        Optional limits: max_iterations, max_tokens, max_cost (USD), timeout_s.
        """
        value = _context_from(context_path, context)
        limits = {"max_iterations": max_iterations, "max_tokens": max_tokens,
                  "max_cost": max_cost, "timeout_s": timeout_s}
        config = rlm.config.with_(**{k: v for k, v in limits.items() if v is not None})
        result = await rlm.arun(value, query, config=config)
        run_id = traces.add(query, result)
        return {"answer": result.answer, "status": result.status,
                "iterations": result.iterations, "subcalls": result.subcalls,
                "tokens": result.usage.total_tokens, "cost": result.cost,
                "error": result.error, "trace": f"rlm://traces/{run_id}"}

    @server.resource("rlm://traces", mime_type="application/json")
    def list_traces() -> str:
        """The recent runs: id, query, status."""
        return json.dumps([{"id": k, "query": q, "status": r.status,
                            "uri": f"rlm://traces/{k}"} for k, (q, r) in traces.items.items()])

    @server.resource("rlm://traces/{run_id}", mime_type="application/json")
    def get_trace(run_id: str) -> str:
        """One recent run's trace (spans as JSON)."""
        if run_id not in traces.items:
            raise ValueError(f"no recent run {run_id!r}: read rlm://traces for the list")
        return json.dumps(traces.items[run_id][1].trace.to_dict(), default=str)

    if memory_path is not None:
        memory = _open_memory(memory_path, make_memory)

        @server.tool()
        def memory_add(text: str) -> str:
            """Remember `text` (an episode in the hierarchical memory)."""
            return str(memory.add_episode(text, {"source": "mcp"}))

        @server.tool()
        def memory_search(query: str, k: int = 5) -> str:
            """The memories most relevant to `query`, as a prompt-ready block."""
            return str(memory.retrieve(query, k=max(1, min(k, 50))))

    return server


def _open_memory(path: str, make: Callable[[str], Any] | None) -> Any:
    if make is not None:
        return make(path)
    from ..memory import HierarchicalMemory

    return HierarchicalMemory(path)
