"""`rlm trace view` (an HTML page) and `rlm trace show` (a terminal tree) for a saved run."""

from __future__ import annotations

import argparse
import os
import webbrowser
from pathlib import Path
from typing import Any

from rich.console import Console

from ..errors import ConfigError
from ..privacy import render as render_audit
from ..trace.terminal import safe, show
from ..trace.viewer import from_jsonl, write_html


def register(commands: Any) -> None:
    p = commands.add_parser("trace", help="look at a saved run's trace (HTML page or terminal tree)",
                            description="Look at a trace saved with `rlm run --trace RUN.jsonl`.")
    sub = p.add_subparsers(dest="trace_command", metavar="ACTION")
    v = sub.add_parser("view", help="write a self-contained HTML page of the run",
                       description="Write one HTML file (no network, opens from disk) showing "
                       "the run's tree, timeline, code, prompts, replies and credit.")
    v.add_argument("trace", metavar="RUN.jsonl", help="a trace saved by rlm run --trace")
    v.add_argument("-o", "--output", metavar="OUT.html",
                   help="where to write the page (default: RUN.html next to the trace)")
    v.add_argument("--open", action="store_true", help="open the page in a browser")
    v.set_defaults(func=view_command)
    s = sub.add_parser("show", help="print the run as a tree in the terminal",
                       description="Print the run's span tree with durations, tokens, cost, "
                       "errors and credit badges.")
    s.add_argument("trace", metavar="RUN.jsonl", help="a trace saved by rlm run --trace")
    s.set_defaults(func=show_command)
    p.set_defaults(func=lambda args: _help(p))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def check_html_path(spec: str, flag: str = "-o") -> Path:
    """Refuse, up front, an output path that is a folder or whose folder is missing."""
    path = Path(spec)
    if path.is_dir():
        raise ConfigError(f"{flag} {spec!r} is a folder: give a file name, e.g. {spec}/run.html")
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"{flag} {spec!r}: the folder {str(folder)!r} does not exist; create "
                          "it first or choose another path")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{flag} {spec!r}: the folder {str(folder)!r} is not writable; "
                          "choose another path")
    return path


def view_command(args: argparse.Namespace) -> int:
    out = Path(args.output) if args.output else Path(args.trace).with_suffix(".html")
    check_html_path(str(out))
    view = from_jsonl(args.trace)
    try:
        write_html(view, out)
    except OSError as exc:
        raise ConfigError(f"could not write {str(out)!r}: {exc.strerror or exc}") from None
    Console(stderr=True).print(f"wrote {out} ({len(view.nodes):,} nodes)", highlight=False)
    if args.open:
        webbrowser.open(out.resolve().as_uri())
    return 0


def show_command(args: argparse.Namespace) -> int:
    view = from_jsonl(args.trace)
    show(view)
    if view.egress is not None:  # counts only (see egress_of), escaped: the file is untrusted
        audit = {**view.egress, "providers": {p["name"]: p for p in view.egress["providers"]}}
        Console().print(safe(render_audit(audit)), highlight=False)
    return 0
