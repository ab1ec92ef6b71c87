"""The quality grid of small models: RLM against the model read directly, each small-model
strategy on and off, over the suite's task kinds, with bootstrap 95% CIs.

On the embedded local model (llama.cpp in-process; default Qwen2.5-Coder-1.5B). Every
(task, method) pair is one line of bench/results/quality.jsonl, written as it finishes; a
rerun skips the pairs already there (resume after a stop). The summary (mean score per kind,
size and method with a seeded bootstrap CI) goes to bench/results/quality.json and is printed
as a markdown table.

Methods: `direct` (the text in one prompt, cut in the middle past the window), `rlm` (all
small-model strategies on), `rlm-no-<strategy>` (one strategy off) and `rlm-none` (all off).

    .venv/bin/python bench/quality.py --quick          # 2 seeds at 8K tokens: check a change
    nohup nice -n 19 .venv/bin/python bench/quality.py > /tmp/quality.log 2>&1 &   # the grid
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rlm_toolkit.bench.generate import parse_sizes  # noqa: E402
from rlm_toolkit.bench.methods import DirectMethod, Method, RLMMethod  # noqa: E402
from rlm_toolkit.bench.runner import TaskSpec, run_bench  # noqa: E402
from rlm_toolkit.bench.stats import markdown_table, summarize  # noqa: E402
from rlm_toolkit.engine.config import SMALL_STRATEGIES  # noqa: E402

KINDS = ("aggregation", "multihop", "oolong", "sniah", "unanswerable")
RESULTS = ROOT / "bench" / "results"


def methods_for(names: list[str], provider: Any, window: int, iterations: int,
                traces: str | None = None) -> list[Method]:
    """The methods by name, all on the same provider (root and sub model); RLM runs write
    their traces to `traces` when given."""
    out: list[Method] = []
    for name in names:
        if name == "direct":
            out.append(DirectMethod(provider, window=window, max_tokens=64))
            continue
        off = {"rlm": (), "rlm-none": SMALL_STRATEGIES}.get(name)
        if off is None:
            off = (name.removeprefix("rlm-no-"),)
        if any(s not in SMALL_STRATEGIES for s in off):
            raise SystemExit(f"unknown method {name!r}; use direct, rlm, rlm-none or "
                             f"rlm-no-<{'|'.join(SMALL_STRATEGIES)}>")
        method = RLMMethod(provider, provider, max_iterations=iterations, trace_dir=traces,
                           small_model=True,
                           small_strategies=tuple(s for s in SMALL_STRATEGIES if s not in off))
        method.name = name
        out.append(method)
    return out


def grid(kinds: list[str], sizes: list[int], seeds: int) -> list[TaskSpec]:
    """Every kind x size x seed, seeds innermost so each cell fills evenly as it runs."""
    return [TaskSpec(kind, size, seed) for seed in range(seeds) for size in sizes
            for kind in kinds]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 seeds at 8K tokens, methods direct, rlm and rlm-none")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--sizes", default="8k,32k", help="context sizes in tokens")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--methods", default="direct,rlm,rlm-none," + ",".join(
        f"rlm-no-{s}" for s in SMALL_STRATEGIES))
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--window", type=int, default=None,
                        help="the model's window in tokens (direct is cut to fit it); default "
                        "32768, 16384 with --quick")
    parser.add_argument("--max-iterations", type=int, default=12)
    parser.add_argument("--out", default=str(RESULTS / "quality.jsonl"))
    parser.add_argument("--traces", default=None,
                        help="a folder for each RLM run's trace (JSONL, one file a task)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.seeds, args.methods = "8k", 2, "direct,rlm,rlm-none"
        if args.out == str(RESULTS / "quality.jsonl"):
            args.out = str(RESULTS / "quality_quick.jsonl")
    args.window = args.window or (16_384 if args.quick else 32_768)
    from rlm_toolkit.providers.local import LocalProvider

    provider = LocalProvider(args.model, n_ctx=args.window)
    methods = methods_for(args.methods.split(","), provider, args.window, args.max_iterations,
                          args.traces)
    tasks = grid(args.kinds.split(","), parse_sizes(args.sizes), args.seeds)
    records = asyncio.run(run_bench(tasks, methods, args.out, total=len(tasks) * len(methods),
                                    progress=False, meta={"model": args.model}))
    rows = summarize(records)
    summary = Path(args.out).with_suffix(".json")
    summary.write_text(json.dumps({"model": args.model, "command": sys.argv,
                                   "rows": [r.to_dict() for r in rows]}, indent=2))
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
