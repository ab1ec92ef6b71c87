"""`rlm mcp`: an RLM as an MCP server (stdio, or streamable HTTP with --http; extra [mcp])."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from ..engine import RLM
from ..errors import ConfigError
from .serve import add_model_options, config_from
from .serve_model import LOOPBACK


def register(commands: Any) -> None:
    """Add the `mcp` subcommand."""
    p = commands.add_parser(
        "mcp", help="serve an RLM as MCP tools (stdio, or --http)",
        description="An MCP server with the tool rlm_run (a query over a file, a folder or "
        "text), memory_add/memory_search with --memory, and the traces of recent runs as "
        "resources. Speaks stdio by default (for desktop and agent clients).")
    add_model_options(p)
    p.add_argument("--memory", metavar="PATH", help="a memory file: adds memory_add and "
                   "memory_search")
    p.add_argument("--http", action="store_true",
                   help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="bind address with --http (loopback)")
    p.add_argument("--port", type=int, default=8000, help="port with --http")
    p.set_defaults(func=mcp_command)


def mcp_command(args: argparse.Namespace) -> int:
    try:
        from ..serve.mcp_server import build_server
    except ImportError as exc:
        raise ConfigError(f"rlm mcp needs the [mcp] extra ({exc.name} is missing): "
                          "pip install 'rlm-toolkit[mcp]'") from None
    from .run import default_model

    if args.http and args.host not in LOOPBACK:
        raise ConfigError("rlm mcp --http serves loopback only: keep --host 127.0.0.1 and "
                              "put an authenticating proxy in front to reach it from elsewhere")
    err = Console(stderr=True)
    model = args.model or default_model(err)
    rlm = RLM(model, args.sub_model, config_from(args), base_url=args.base_url)
    server = build_server(rlm, memory_path=args.memory, host=args.host, port=args.port)
    if args.http:
        err.print(f"MCP server at http://{args.host}:{args.port}/mcp (Ctrl-C stops)")
        server.run("streamable-http")
    else:
        server.run("stdio")
    return 0
