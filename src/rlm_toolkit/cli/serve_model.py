"""`rlm serve-model local/MODEL`: the embedded model over an OpenAI-compatible HTTP API."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rich.console import Console

from ..errors import ConfigError
from ..local.runtime import DEFAULT_N_CTX, LocalRuntime, check_settings
from ..local.server import ModelServer
from ..providers.local import model_file
from ..providers.registry import split_spec

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(commands: Any) -> None:
    """Add the `serve-model` subcommand."""
    p = commands.add_parser(
        "serve-model", help="serve the embedded model over an OpenAI-compatible API",
        description="Load a local model once and serve it at /v1/chat/completions, so many "
        "runs (any OpenAI client, or `rlm run --model openai/MODEL --base-url ...`) share it.")
    p.add_argument("model", nargs="?", default="local/qwen2.5-coder-1.5b",
                   help="local/NAME or local/path/to/model.gguf (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX, help="window per slot in tokens")
    p.add_argument("--slots", type=int, default=2, help="KV caches kept (conversations)")
    p.add_argument("--api-key-env", default=None, metavar="VAR",
                   help="require `Authorization: Bearer $VAR` (needed to bind off loopback)")
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    """Check every setting and bind the port, then load the model and serve until Ctrl-C."""
    provider, model = split_spec(args.model)
    if provider != "local":
        raise ConfigError(f"serve-model serves local models; got {args.model!r}. "
                          "Use local/qwen2.5-coder-1.5b or local/path/to/model.gguf")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a TCP port: give 1 to 65535, or 0 for a "
                          "free one")
    check_settings(n_ctx=args.n_ctx, slots=args.slots, names=("--n-ctx", "--slots"))
    key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not key:
        raise ConfigError(f"--api-key-env {args.api_key_env}: that variable is not set")
    if args.host not in LOOPBACK and key is None:
        raise ConfigError(f"binding to {args.host} exposes the model to the network: set "
                          "--api-key-env VAR with a secret in $VAR, or keep the default loopback")
    server = ModelServer(None, model, host=args.host, port=args.port, api_key=key)
    console = Console(stderr=True)
    runtime: LocalRuntime | None = None
    try:
        path = model_file(model)
        console.print(f"loading {model} ...")
        runtime = LocalRuntime(path, n_ctx=args.n_ctx, slots=args.slots)
        runtime.warm()
        server.runtime = runtime
        console.print(f"serving {model} at {server.url} (OpenAI-compatible; Ctrl-C stops)")
        console.print(f"  try: rlm run --model openai/{model} --base-url {server.url} ...")
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()
        if runtime is not None:
            runtime.close()
    return 0
