"""`rlm batch`: many RLM runs from a tasks file, locally or on a Ray cluster, resumable.

    rlm batch tasks.jsonl --out results.jsonl --model openai/gpt-4o-mini --max-cost 5
    rlm batch tasks.jsonl --out results.jsonl --ray                 # the cluster at RAY_ADDRESS
    rlm batch tasks.jsonl --out results.jsonl --ray local           # a Ray cluster in-process
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any, Literal

from rich.console import Console

from ..batch import count_lines, load_tasks, run_batch
from ..batch.factory import ModelFactory
from .run import default_model


def register(commands: Any) -> None:
    p = commands.add_parser(
        "batch", help="run many tasks (JSONL) locally or on a Ray cluster, resumable",
        description="Run one RLM per task line ({\"id\", \"query\", \"context\" or "
                    "\"context_path\"}), with one budget for the whole job. Results stream "
                    "into --out, one JSON line per task; a rerun skips finished ids.")
    p.add_argument("tasks", metavar="TASKS.jsonl", help="tasks file, one JSON object a line")
    p.add_argument("--out", required=True, metavar="RESULTS.jsonl", help="results file")
    p.add_argument("--model", "-m", help="root model as provider/model (a task's \"model\" "
                   "wins; default as for rlm run)")
    p.add_argument("--sub-model", help="model for sub-calls (default: the root model)")
    p.add_argument("--base-url", help="server URL for the provider")
    p.add_argument("--ray", nargs="?", const="auto", default=None, metavar="ADDRESS|local",
                   help="run on Ray (extra [ray]): the cluster at ADDRESS, `local` to start "
                        "one here, or no value for RAY_ADDRESS / the running cluster")
    p.add_argument("--concurrency", type=int, default=None,
                   help="tasks at once (default 4 locally; on Ray the cluster's CPUs)")
    p.add_argument("--cpus-per-task", type=float, default=1.0,
                   help="Ray CPUs per task (e.g. 0.25 for latency-bound runs; default 1)")
    p.add_argument("--max-cost", type=float, default=None, help="USD budget of the whole job")
    p.add_argument("--max-tokens", type=int, default=None, help="token budget of the whole job")
    p.add_argument("--task-max-tokens", type=int, default=None,
                   help="token cap of each task (a task's own \"max_tokens\" wins)")
    p.add_argument("--task-max-cost", type=float, default=None,
                   help="USD cap of each task (a task's own \"max_cost\" wins)")
    p.add_argument("--max-iterations", type=int, default=None, help="root iterations per run")
    p.add_argument("--timeout", type=float, default=None, help="seconds per run")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "landlock", "unsafe-local"),
                   default=None)
    p.add_argument("--retries", type=int, default=2,
                   help="tries again for a task whose worker died (default 2)")
    p.add_argument("--retry-errors", action="store_true",
                   help="rerun tasks whose last result was an error")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    config: dict[str, Any] = {}
    for key, value in (("max_iterations", args.max_iterations), ("timeout_s", args.timeout),
                       ("sandbox", args.sandbox)):
        if value is not None:
            config[key] = value
    factory = ModelFactory(args.model or default_model(err), args.sub_model, args.base_url,
                           config)
    tasks = load_tasks(args.tasks)
    backend: Literal["local", "ray"] = "ray" if args.ray else "local"
    address = None if args.ray in (None, "auto") else args.ray
    tally: Counter[str] = Counter()
    cost = 0.0
    for result in run_batch(tasks, factory, backend, out=args.out, max_cost=args.max_cost,
                            max_tokens=args.max_tokens, task_max_tokens=args.task_max_tokens,
                            task_max_cost=args.task_max_cost, concurrency=args.concurrency,
                            retries=args.retries, retry_errors=args.retry_errors,
                            ray_address=address, cpus_per_task=args.cpus_per_task,
                            progress=not args.no_progress and sys.stderr.isatty(),
                            total=count_lines(args.tasks)):
        tally[result.status] += 1
        cost += result.cost or 0.0
        if result.status == "invalid":
            err.print(f"[yellow]skipped[/] {result.error}", highlight=False)
    summary = {"results": args.out, "cost": round(cost, 6), **dict(sorted(tally.items()))}
    print(json.dumps(summary))
    return 1 if tally["invalid"] or tally["error"] else 0
