"""`rlm providers`: every provider prefix, its endpoint, and whether its key is set."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..providers.listing import KINDS, ProviderInfo, describe

KEY_STYLE = {"set": "green", "missing": "red"}
COLUMNS = ("provider", "kind", "key", "example --model", "endpoint")


def register(commands: Any) -> None:
    """Add the `providers` subcommand."""
    p = commands.add_parser(
        "providers", help="list the providers, their endpoints and whether each key is set",
        description="List every provider prefix accepted by --model and RLM(...): native SDKs, "
        "the OpenAI-compatible catalog (cloud APIs, gateways, local servers), whether each "
        "API key is set and whether the SDK it needs is installed.")
    p.add_argument("filter", nargs="?", default="",
                   help="only providers whose name or label contains this text")
    p.add_argument("--kind", choices=KINDS, help="only providers of this kind")
    p.add_argument("--ready", action="store_true",
                   help="only providers usable now: key set or not needed, SDK installed")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run)


def usable(r: ProviderInfo) -> bool:
    return r.installed and r.key_status != "missing"


def select(rows: list[ProviderInfo], text: str, ready: bool) -> list[ProviderInfo]:
    """Rows matching the filter text (name or label) and, with `ready`, usable now."""
    needle = text.lower()
    out = [r for r in rows if needle in r.name.lower() or needle in r.label.lower()]
    return [r for r in out if usable(r)] if ready else out


def cells(r: ProviderInfo) -> tuple[list[str], str]:
    """The row's plain cells, and the style of its key cell."""
    status = r.key_status if r.installed else f"needs rlm-toolkit[{r.extra}]"
    key = f"{' | '.join(r.key_env)} ({status})" if r.key_env else f"- ({status})"
    style = KEY_STYLE.get(status, "dim") if r.installed else "yellow"
    return [r.name, r.kind, key, r.example, r.endpoint], style


def run(args: argparse.Namespace) -> int:
    rows = select(describe(args.kind), args.filter, args.ready)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    console = Console(soft_wrap=True, highlight=False)
    if not rows:
        console.print("no provider matches; run `rlm providers` for the full list")
        return 1
    table = [cells(r) for r in rows]
    widths = [max(len(c), *(len(t[0][i]) for t in table)) for i, c in enumerate(COLUMNS)]
    console.print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip(),
                  style="bold")
    for values, style in table:
        padded = [escape(v.ljust(w)) for v, w in zip(values, widths, strict=True)]
        padded[2] = f"[{style}]{padded[2]}[/]"
        console.print("  ".join(padded).rstrip())
    console.print(
        f"{len(rows)} provider{'s' if len(rows) != 1 else ''}, "
        f"{sum(usable(r) for r in rows)} usable now. Name a model as "
        "provider/model (rlm run --model groq/llama-3.3-70b-versatile); reach any other "
        "OpenAI-compatible server with --model openai/MODEL --base-url URL.", style="dim")
    return 0
