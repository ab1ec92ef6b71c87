"""Sandbox bench: what each isolation tier costs against the unjailed worker.

For every tier available here (unsafe-local is the baseline) it measures worker startup, one
code step's round trip, one llm() RPC round trip, loading a 100 MB context, and the worker's
resident memory with that context. Wall clock is noisy on a loaded machine, so the step and
llm() numbers also come as CPU time: the host's (process_time) and the worker's whole process
tree's (/proc). Prints a table and writes JSON to bench/results/.

    .venv/bin/python bench/sandbox.py [--steps 300] [--calls 500] [--context-mb 100]

With `--baseline DIR` (another checkout, e.g. a git worktree of an older commit) it runs the
same measurements on DIR/src and on this tree in turn, `--repeats` times each, alternating,
each in a fresh process, and prints both medians and head/base ratios per tier:

    .venv/bin/python bench/sandbox.py --baseline /path/to/old-worktree --repeats 3
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rlm_toolkit.sandbox import Worker, WorkerOptions
from rlm_toolkit.sandbox.jail.detect import all_tiers

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox.json"
RSS_CODE = ("print([int(l.split()[1]) for l in open('/proc/self/status') "
            "if l.startswith('VmRSS')][0])")


def tree_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system, reaped children too) of `pid` and all its descendants."""
    total, todo, tick = 0.0, [pid] if pid else [], os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


async def echo(method: str, args: dict[str, Any]) -> Any:
    """The host's side of llm(): answer at once, so only the RPC is measured."""
    return ["ok"] * len(args.get("prompts") or [])


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 4),
        "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 4),
        "min_ms": round(ordered[0] * 1000, 4),
    }


async def measure(tier: str, steps: int, calls: int, context_mb: int) -> dict[str, Any]:
    """Every number for one tier."""
    options = WorkerOptions(sandbox=tier, step_timeout_s=120, memory_limit_mb=4096)
    startups = []
    for _ in range(7):
        worker = Worker("small", options)
        t0 = time.perf_counter()
        await worker.start()
        startups.append(time.perf_counter() - t0)
        await worker.close()

    async with Worker("small", options) as worker:
        for _ in range(20):  # warm up
            await worker.execute("x = 1", echo)
        step_times = []
        host0, worker0 = time.process_time(), tree_cpu_s(worker.pid)
        for _ in range(steps):
            t0 = time.perf_counter()
            await worker.execute("x = 1", echo)
            step_times.append(time.perf_counter() - t0)
        host1, worker1 = time.process_time(), tree_cpu_s(worker.pid)
        t0 = time.perf_counter()
        result = await worker.execute(f"for _ in range({calls}):\n    llm('hi')", echo)
        rpc_s = (time.perf_counter() - t0) / calls
        host2, worker2 = time.process_time(), tree_cpu_s(worker.pid)
        assert result.error is None, result.error
        base_rss_kb = int((await worker.execute(RSS_CODE, echo)).stdout)

    text = "x" * (context_mb * 1024 * 1024)
    t0 = time.perf_counter()
    worker = Worker(text, options)
    blob_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    await worker.start()
    load_s = time.perf_counter() - t0
    rss_kb = int((await worker.execute(RSS_CODE, echo)).stdout)
    check = await worker.execute("print(len(context))", echo)
    assert check.stdout.strip() == str(len(text)), check
    await worker.close()
    return {
        "tier": tier,
        "startup": _ms(startups),
        "step": _ms(step_times),
        "llm_rpc_ms": round(rpc_s * 1000, 4),
        "cpu_us": {
            "step_host": round((host1 - host0) / steps * 1e6, 1),
            "step_worker": round((worker1 - worker0) / steps * 1e6, 1),
            "llm_host": round((host2 - host1) / calls * 1e6, 1),
            "llm_worker": round((worker2 - worker1) / calls * 1e6, 1),
        },
        "context_mb": context_mb,
        "context_host_encode_s": round(blob_s, 3),
        "context_load_s": round(load_s, 3),
        "worker_rss_mb_small": round(base_rss_kb / 1024, 1),
        "worker_rss_mb_with_context": round(rss_kb / 1024, 1),
        "context_copies_in_worker": round((rss_kb - base_rss_kb) / 1024 / context_mb, 2),
    }


def table(rows: list[dict[str, Any]]) -> str:
    base = next(r for r in rows if r["tier"] == "unsafe-local")
    head = (f"{'tier':<13}{'startup ms':>12}{'step ms':>10}{'step +ms':>10}{'step x':>8}"
            f"{'llm rpc ms':>12}{'100MB load s':>14}{'RSS MB':>9}{'copies':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        step = r["step"]["median_ms"]
        lines.append(
            f"{r['tier']:<13}{r['startup']['median_ms']:>12.1f}{step:>10.3f}"
            f"{step - base['step']['median_ms']:>10.3f}{step / base['step']['median_ms']:>8.2f}"
            f"{r['llm_rpc_ms']:>12.3f}{r['context_load_s']:>14.3f}"
            f"{r['worker_rss_mb_with_context']:>9.1f}{r['context_copies_in_worker']:>8.2f}"
        )
    return "\n".join(lines)


#: What a baseline comparison puts side by side: (label, how to read it from a tier's row).
COMPARED: list[tuple[str, Any]] = [
    ("startup ms", lambda r: r["startup"]["median_ms"]),
    ("step ms", lambda r: r["step"]["median_ms"]),
    ("step cpu host us", lambda r: r["cpu_us"]["step_host"]),
    ("step cpu worker us", lambda r: r["cpu_us"]["step_worker"]),
    ("llm rpc ms", lambda r: r["llm_rpc_ms"]),
    ("llm cpu host us", lambda r: r["cpu_us"]["llm_host"]),
    ("llm cpu worker us", lambda r: r["cpu_us"]["llm_worker"]),
    ("context load s", lambda r: r["context_load_s"]),
]


def run_tree(src: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every tier's row, measured in a fresh process on the package under `src`.

    The tree's worker modules are compiled first, as installing the package does, so both trees
    start their workers from bytecode.
    """
    compileall.compile_dir(str(src / "rlm_toolkit" / "sandbox" / "worker"), maxlevels=0, quiet=2)
    command = [sys.executable, __file__, "--one", "--steps", str(args.steps),
               "--calls", str(args.calls), "--context-mb", str(args.context_mb)]
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the bench failed on {src}:\n{done.stderr[-4000:]}")
    rows: list[dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])
    return rows


def compare(runs: dict[str, list[list[dict[str, Any]]]]) -> tuple[str, list[dict[str, Any]]]:
    """Medians over the repeats of base and head per tier and measure, and head/base."""
    out: list[dict[str, Any]] = []
    tiers = [r["tier"] for r in runs["head"][0]
             if any(b["tier"] == r["tier"] for b in runs["base"][0])]
    for tier in tiers:
        for label, read in COMPARED:
            pair = {side: statistics.median(read(next(r for r in rows if r["tier"] == tier))
                                            for rows in runs[side]) for side in ("base", "head")}
            ratio = pair["head"] / pair["base"] if pair["base"] else float("nan")
            out.append({"tier": tier, "measure": label, **pair, "ratio": round(ratio, 2)})
    head = f"{'tier':<13}{'measure':<20}{'base':>10}{'head':>10}{'head/base':>11}"
    lines = [head, "-" * len(head)]
    lines += [f"{r['tier']:<13}{r['measure']:<20}{r['base']:>10.3f}{r['head']:>10.3f}"
              f"{r['ratio']:>11.2f}" for r in out]
    return "\n".join(lines), out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--context-mb", type=int, default=100)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout to compare with (its src/ is measured)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each tree with --baseline, alternating")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline is not None:
        here = Path(__file__).resolve().parent.parent / "src"
        trees = {"base": args.baseline.resolve() / "src", "head": here}
        runs: dict[str, list[list[dict[str, Any]]]] = {"base": [], "head": []}
        for i in range(args.repeats):
            order = ["base", "head"] if i % 2 == 0 else ["head", "base"]
            for side in order:
                runs[side].append(run_tree(trees[side], args))
                print(f"run {i + 1}/{args.repeats} {side} done", file=sys.stderr)
        text, rows = compare(runs)
        print(text)
        out = RESULTS.with_name("sandbox_compare.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            "bench": "sandbox-compare",
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "params": {**vars(args), "baseline": str(args.baseline)},
            "trees": {k: str(v) for k, v in trees.items()},
            "medians": rows,
            "runs": runs,
        }, indent=2))
        print(f"\nwrote {out}")
        return
    tiers = ["unsafe-local"] + [t.name for t in all_tiers() if t.available]
    rows = [await measure(t, args.steps, args.calls, args.context_mb) for t in tiers]
    base = rows[0]
    for r in rows:
        r["step_overhead_ms"] = round(r["step"]["median_ms"] - base["step"]["median_ms"], 4)
        r["ratio_to_unsafe_local"] = {
            "startup": round(r["startup"]["median_ms"] / base["startup"]["median_ms"], 2),
            "step": round(r["step"]["median_ms"] / base["step"]["median_ms"], 2),
            "llm_rpc": round(r["llm_rpc_ms"] / base["llm_rpc_ms"], 2),
            "context_load": round(r["context_load_s"] / base["context_load_s"], 2),
        }
    if args.one:
        print(json.dumps(rows))
        return
    print(table(rows))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "bench": "sandbox",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "params": vars(args),
        "tiers": rows,
    }, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    asyncio.run(main())
