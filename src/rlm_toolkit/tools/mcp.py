"""The tools of an MCP server (official `mcp` SDK, extra `[mcp]`), over stdio or HTTP."""

from __future__ import annotations

import json
import shlex
from contextlib import AsyncExitStack
from typing import Any

from ..errors import MissingDependency, ToolError
from .base import ToolSpec, check_name


class MCPServer:
    """An MCP server whose tools model code may call by name.

    `MCPServer("python my_server.py")` starts the command and speaks MCP over its stdio;
    `MCPServer("http://127.0.0.1:8000/mcp")` connects to a streamable-HTTP server. `env` and
    `cwd` apply to a command. The server is started when a run starts and stopped after it.
    """

    def __init__(self, target: str | list[str], *, env: dict[str, str] | None = None,
                 cwd: str | None = None) -> None:
        argv = shlex.split(target) if isinstance(target, str) else list(target)
        if not argv:
            raise ToolError("MCPServer needs a command (\"python server.py\") or a URL")
        self.url = argv[0] if argv[0].startswith(("http://", "https://")) else None
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self._stack: AsyncExitStack | None = None
        self._session: Any = None

    async def start(self) -> list[ToolSpec]:
        try:
            from mcp import ClientSession, StdioServerParameters
            from mcp.client.stdio import stdio_client
            from mcp.client.streamable_http import streamablehttp_client
        except ImportError:
            raise MissingDependency("mcp", "mcp", "MCP tools") from None
        stack = AsyncExitStack()
        try:
            if self.url is not None:
                read, write, _ = await stack.enter_async_context(streamablehttp_client(self.url))
            else:
                server = StdioServerParameters(command=self.argv[0], args=self.argv[1:],
                                               env=self.env, cwd=self.cwd)
                read, write = await stack.enter_async_context(stdio_client(server))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            listed = await session.list_tools()
        except Exception as exc:
            await stack.aclose()
            raise ToolError(f"MCP server {self!r} could not be started: {exc}; check the "
                            "command or URL (run it by hand to see its errors)") from exc
        self._stack, self._session = stack, session
        specs = []
        for tool in listed.tools:
            schema = dict(tool.inputSchema or {})
            props = schema.get("properties") or {}
            required = set(schema.get("required") or [])
            params = ", ".join(p if p in required else f"{p}=None" for p in props)
            specs.append(ToolSpec(check_name(tool.name), tool.description or "", f"({params})",
                                  schema))
        return specs

    async def call(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if self._session is None:
            raise ToolError(f"MCP server {self!r} is not started")
        if args:
            raise ToolError(f"MCP tool {name} takes keyword arguments only: "
                            f"{name}(field=value, ...)")
        result = await self._session.call_tool(name, kwargs)
        texts = [getattr(c, "text", None) for c in result.content]
        text = "\n".join(t for t in texts if isinstance(t, str))
        if result.isError:
            raise ToolError(text or f"MCP tool {name} failed")
        structured = getattr(result, "structuredContent", None)
        if structured is not None:
            if isinstance(structured, dict) and set(structured) == {"result"}:
                return structured["result"]
            return structured
        try:
            return json.loads(text)
        except ValueError:
            return text

    async def close(self) -> None:
        stack, self._stack, self._session = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    def __repr__(self) -> str:
        return f"MCPServer({self.url or shlex.join(self.argv)!r})"
