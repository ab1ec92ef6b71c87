"""`rlm bench`: generate long-context tasks, run methods on them, and report scores with CIs.

    rlm bench generate --task sniah --tokens 8192 --seed 0 --out tasks.jsonl
    rlm bench run --model openai/gpt-4o-mini --task sniah,oolong --tokens 8k,32k --seeds 3
    rlm bench report --out bench-results
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import RLMError

TASK_KINDS = ("sniah", "oolong", "pairs", "multihop", "unanswerable", "aggregation")


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _add_generate(sub: Any) -> None:
    p = sub.add_parser("generate", help="write tasks (context, question, gold, verification data)",
                       description="Write benchmark tasks to a JSONL file, one task a line.")
    p.add_argument("--task", default="sniah",
                   help=f"task kind(s), comma separated: {', '.join(TASK_KINDS)}")
    p.add_argument("--tokens", default="8192",
                   help="context size(s) in tokens (characters/4), e.g. 8192,32k,1M or "
                        "2^13..2^20 (every power of two between)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--count", type=int, default=1, help="tasks per kind and size (seeds seed..)")
    p.add_argument("--out", required=True, help="JSONL file to write")
    p.set_defaults(func=cmd_generate)


def _add_run(sub: Any) -> None:
    p = sub.add_parser("run", help="run methods on tasks and score them",
                       description="Run methods on generated tasks; resumable; writes "
                                   "results.jsonl, summary.json, summary.md and plot.png.")
    p.add_argument("--model", required=True, help="root model, e.g. openai/gpt-4o-mini")
    p.add_argument("--sub-model", help="model for sub-calls and map steps (default: --model)")
    p.add_argument("--base-url", help="server URL for --model (any OpenAI-compatible server)")
    p.add_argument("--sub-base-url", help="server URL for --sub-model (default: --base-url)")
    p.add_argument("--methods", default="rlm1,direct,mapreduce",
                   help="comma separated: rlm0, rlm1, rlm2 (RLM at that depth), direct, mapreduce")
    p.add_argument("--task", default=",".join(TASK_KINDS), help="task kinds, comma separated")
    p.add_argument("--tokens", default="8192", help="sizes, e.g. 8k,16k,32k or 2^13..2^17")
    p.add_argument("--seeds", type=int, default=3, help="tasks per kind and size (default 3)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--tasks-file", help="run the tasks in this JSONL file instead of generating")
    p.add_argument("--window", type=int,
                   help="the model's window in tokens (default: what the provider reports)")
    p.add_argument("--chunk-tokens", type=int, help="map-reduce chunk size in tokens")
    p.add_argument("--chars-per-token", type=float, default=4.0,
                   help="characters per token when fitting text to the window (default 4; "
                        "about 3 for tokenizers that split digits)")
    p.add_argument("--max-iterations", type=int, default=20, help="RLM root iterations")
    p.add_argument("--max-tokens", type=int,
                   help="cap on the output tokens of each direct / map-reduce call "
                        "(RLM runs keep their engine limits)")
    p.add_argument("--timeout", type=float,
                   help="seconds: a whole RLM run, or one call of direct / map-reduce")
    p.add_argument("--concurrency", type=int, default=None,
                   help="task runs at once (default 1; with --ray the cluster's CPUs)")
    p.add_argument("--ray", nargs="?", const="auto", default=None, metavar="ADDRESS|local",
                   help="run each (task, method) pair as a Ray task (extra [ray]), as "
                        "`rlm batch --ray` does")
    p.add_argument("--cpus-per-task", type=float, default=1.0,
                   help="Ray CPUs per run with --ray (default 1)")
    p.add_argument("--out", default="bench-results", help="output folder (default bench-results)")
    p.add_argument("--retry-errors", action="store_true", help="rerun pairs that failed before")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the bootstrap CIs")
    p.set_defaults(func=cmd_run)


def _add_report(sub: Any) -> None:
    p = sub.add_parser("report", help="rebuild summary and plot from results.jsonl",
                       description="Recompute summary.json, summary.md and plot.png.")
    p.add_argument("--out", default="bench-results", help="folder holding results.jsonl")
    p.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the bootstrap CIs")
    p.set_defaults(func=cmd_report)


def build_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the bench subcommands to `parser`."""
    sub = parser.add_subparsers(dest="bench_command", metavar="{run,generate,report}")
    _add_run(sub)
    _add_generate(sub)
    _add_report(sub)
    parser.set_defaults(func=lambda args: _usage(parser))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def register(subparsers: Any) -> None:
    """Add `rlm bench` to the top-level CLI."""
    build_parser(subparsers.add_parser(
        "bench", help="long-context benchmark: S-NIAH, OOLONG, OOLONG-Pairs, multi-hop",
        description="Seeded long-context tasks, several methods, scores with bootstrap CIs."))


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the toolkit's own errors into a one-line message and exit code 1."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (RLMError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    wrapped.__doc__ = fn.__doc__
    return wrapped


@_guard
def cmd_generate(args: argparse.Namespace) -> int:
    """Write tasks to --out."""
    from ..bench.generate import parse_sizes, suite
    from ..bench.task import write_tasks

    kinds = _list(args.task)
    sizes = parse_sizes(args.tokens)
    seeds = range(args.seed, args.seed + max(1, args.count))
    n = write_tasks(suite(kinds, sizes, seeds), args.out)
    print(f"wrote {n} task(s) to {args.out}")
    return 0


def _methods(args: argparse.Namespace) -> tuple[list[Any], list[Any]]:
    """The method objects, and the providers to close afterwards."""
    from ..bench.methods import (
        DirectMethod,
        MapReduceMethod,
        RLMMethod,
        parse_method,
        wants_verify,
    )
    from ..providers import resolve

    root = resolve(args.model, base_url=args.base_url)
    sub = resolve(args.sub_model, base_url=args.sub_base_url or args.base_url) \
        if args.sub_model else root
    methods: list[Any] = []
    for name in _list(args.methods):
        kind, depth = parse_method(name)
        if kind == "rlm":
            methods.append(RLMMethod(root, sub, depth=depth or 0,
                                     max_iterations=args.max_iterations,
                                     timeout_s=args.timeout, verify=wants_verify(name)))
        elif kind == "direct":
            methods.append(DirectMethod(root, window=args.window, max_tokens=args.max_tokens,
                                        timeout_s=args.timeout,
                                        chars_per_token=args.chars_per_token))
        else:
            methods.append(MapReduceMethod(root, sub, window=args.window,
                                           chunk_tokens=args.chunk_tokens,
                                           max_tokens=args.max_tokens, timeout_s=args.timeout,
                                           chars_per_token=args.chars_per_token))
    return methods, [root] if sub is root else [root, sub]


def _ray_pair(settings: dict[str, Any], task: Any, method_name: str) -> dict[str, Any]:
    """One (task, method) pair inside a Ray worker: the methods are rebuilt there from the
    command's settings (providers hold connections, which do not travel)."""
    from ..batch.execute import node_name
    from ..bench.runner import run_one

    async def once() -> dict[str, Any]:
        methods, providers = _methods(argparse.Namespace(**settings))
        try:
            method = next(m for m in methods if m.name == method_name)
            return {**await run_one(task, method), "node": node_name()}
        finally:
            for provider in providers:
                await provider.aclose()

    return asyncio.run(once())


def _ray_runner(args: argparse.Namespace) -> tuple[Callable[..., Any], int, bool]:
    """A `run` for run_bench that sends each pair to the Ray cluster; its concurrency; and
    whether Ray was started here."""
    from ..batch.ray_backend import connect, remote

    started = connect(None if args.ray == "auto" else args.ray)
    import ray

    fn = remote(_ray_pair, cpus_per_task=args.cpus_per_task, retries=2)
    settings = ray.put({k: v for k, v in vars(args).items() if k != "func"})
    cpus = float(ray.cluster_resources().get("CPU", 1.0))

    async def run(task: Any, method: Any) -> dict[str, Any]:
        result: dict[str, Any] = await fn.remote(settings, task, method.name)
        return result

    return run, max(1, int(cpus // args.cpus_per_task)), started


async def _run(args: argparse.Namespace) -> int:
    from ..bench.generate import parse_sizes
    from ..bench.runner import RESULTS_FILE, TaskSpec, run_bench, run_one, write_reports
    from ..bench.task import read_tasks

    methods, providers = _methods(args)
    items: list[Any]
    if args.tasks_file:
        items = list(read_tasks(args.tasks_file))
    else:
        from ..bench.generate import GENERATORS

        kinds = _list(args.task)
        unknown = [k for k in kinds if k not in GENERATORS]
        if unknown:
            raise SystemExit(f"unknown task(s) {', '.join(unknown)}; choose from "
                             f"{', '.join(TASK_KINDS)}")
        sizes = parse_sizes(args.tokens)
        items = [TaskSpec(k, n, s) for k in kinds for n in sizes
                 for s in range(args.seed, args.seed + max(1, args.seeds))]
    out = Path(args.out)
    run, concurrency, started = (_ray_runner(args) if args.ray else (None, 1, False))
    try:
        records = await run_bench(
            items, methods, out / RESULTS_FILE, concurrency=args.concurrency or concurrency,
            retry_errors=args.retry_errors, progress=not args.no_progress,
            total=len(items) * len(methods),
            meta={"model": args.model, "sub_model": args.sub_model or args.model},
            run=run or run_one)
    finally:
        for provider in providers:
            await provider.aclose()
        if started:
            import ray

            ray.shutdown()
    _, notes = write_reports(records, out, seed=args.bootstrap_seed)
    print((out / "summary.md").read_text(encoding="utf-8"))
    for note in notes:
        print(note)
    return 0


@_guard
def cmd_run(args: argparse.Namespace) -> int:
    """Run the bench."""
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print(f"\ninterrupted; run the same command again to resume from {args.out}",
              file=sys.stderr)
        return 130


@_guard
def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild the reports from results.jsonl."""
    from ..bench.runner import RESULTS_FILE, load_results, write_reports

    path = Path(args.out) / RESULTS_FILE
    if not path.exists():
        print(f"no {path}; run `rlm bench run --out {args.out}` first", file=sys.stderr)
        return 2
    _, notes = write_reports(list(load_results(path).values()), args.out, seed=args.bootstrap_seed)
    print((Path(args.out) / "summary.md").read_text(encoding="utf-8"))
    for note in notes:
        print(note)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m rlm_toolkit.bench ...`"""
    parser = build_parser(argparse.ArgumentParser(
        prog="python -m rlm_toolkit.bench",
        description="Seeded long-context tasks, several methods, scores with bootstrap CIs."))
    args = parser.parse_args(argv)
    return int(args.func(args))
