"""`rlm`: the command-line entry point. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import RLMError

COMMAND_MODULES: tuple[str, ...] = (
    "run", "trace", "models", "serve_model", "doctor", "bench", "providers", "batch", "serve",
    "mcp",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlm",
        description="Recursive Language Models: answer questions about inputs far larger than "
        "the model's window.",
    )
    parser.add_argument("--version", action="version", version=f"rlm_toolkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("rlm: interrupted", file=sys.stderr)
        return 130
    except RLMError as exc:
        print(f"rlm: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
