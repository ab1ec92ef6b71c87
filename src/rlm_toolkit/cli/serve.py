"""`rlm serve`: an RLM behind an OpenAI-compatible HTTP API (needs the [serve] extra)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rich.console import Console

from ..engine import RLMConfig
from ..errors import ConfigError
from .serve_model import LOOPBACK

DEFAULT_PORT = 8000


def add_model_options(p: argparse.ArgumentParser) -> None:
    """The model options `rlm run` has: --model, --sub-model, --base-url, limits, sandbox."""
    p.add_argument("--model", "-m", help="root model as provider/model (default: $RLM_MODEL, "
                   "a provider whose API key is set, else the embedded local model)")
    p.add_argument("--sub-model", help="model for sub-calls (default: the root model)")
    p.add_argument("--base-url", help="server URL for the provider (a proxy, vLLM, a test server)")
    p.add_argument("--max-iterations", type=int, default=None)
    p.add_argument("--max-depth", type=int, default=None)
    p.add_argument("--max-tokens", type=int, default=None, help="token budget for each run")
    p.add_argument("--max-cost", type=float, default=None, help="USD budget for each run")
    p.add_argument("--timeout", type=float, default=None, help="seconds for each run")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "landlock", "unsafe-local"),
                   default=None)


def config_from(args: argparse.Namespace) -> RLMConfig:
    overrides = {"max_iterations": args.max_iterations, "max_depth": args.max_depth,
                 "max_tokens": args.max_tokens, "max_cost": args.max_cost,
                 "timeout_s": args.timeout, "sandbox": args.sandbox}
    return RLMConfig().with_(**{k: v for k, v in overrides.items() if v is not None})


def api_key_from(args: argparse.Namespace) -> str | None:
    """The key clients must send; ConfigError off loopback without one."""
    key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not key:
        raise ConfigError(f"--api-key-env {args.api_key_env}: that variable is not set")
    if args.host not in LOOPBACK and key is None:
        raise ConfigError(f"binding to {args.host} exposes the server to the network: set "
                          "--api-key-env VAR with a secret in $VAR, or keep the default loopback")
    return key


def register(commands: Any) -> None:
    """Add the `serve` subcommand."""
    p = commands.add_parser(
        "serve", help="serve an RLM over an OpenAI-compatible API",
        description="An OpenAI-compatible server (/v1/chat/completions, /v1/models). Model "
        "\"rlm\": long documents in the messages become the context and the last user "
        "message the query; short chats pass straight through to the model.")
    add_model_options(p)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--api-key-env", default=None, metavar="VAR",
                   help="require `Authorization: Bearer $VAR` (needed to bind off loopback)")
    p.add_argument("--threshold", type=int, default=20_000, metavar="CHARS",
                   help="a message longer than this is a document for the RLM (default: "
                   "%(default)s)")
    p.add_argument("--max-body-mb", type=float, default=64.0,
                   help="largest request body accepted (default: %(default)s)")
    p.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    """Check every setting, then serve until Ctrl-C."""
    try:
        import uvicorn

        from ..serve.app import create_app
    except ImportError as exc:
        raise ConfigError(f"rlm serve needs the [serve] extra ({exc.name} is missing): "
                          "pip install 'rlm-toolkit[serve]'") from None
    from ..serve.service import ServeOptions, Service
    from .run import default_model

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a TCP port: give 1 to 65535")
    if args.threshold < 1 or args.max_body_mb <= 0:
        raise ConfigError("--threshold and --max-body-mb must be positive")
    key = api_key_from(args)
    err = Console(stderr=True)
    model = args.model or default_model(err)
    options = ServeOptions(model, args.sub_model, args.base_url, config_from(args),
                           args.threshold, key, int(args.max_body_mb * 1024 * 1024))
    service = Service(options)
    service.rlm_for("rlm")  # a bad model spec is refused before the port is bound
    err.print(f"serving {model} as \"rlm\" at http://{args.host}:{args.port}/v1 "
              "(OpenAI-compatible; Ctrl-C stops)")
    uvicorn.run(create_app(service), host=args.host, port=args.port, log_level="warning")
    return 0
