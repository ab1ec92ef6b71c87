"""Sandbox bench: what each isolation tier costs against the unjailed worker.

For every tier available here (unsafe-local is the baseline) it measures worker startup, one
code step's round trip, one llm() RPC round trip, loading a 100 MB context, and the worker's
resident memory with that context. Prints a table and writes JSON to bench/results/.

    .venv/bin/python bench/sandbox.py [--steps 300] [--calls 500] [--context-mb 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from rlm_toolkit.sandbox import Worker, WorkerOptions
from rlm_toolkit.sandbox.jail.detect import all_tiers

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox.json"
RSS_CODE = ("print([int(l.split()[1]) for l in open('/proc/self/status') "
            "if l.startswith('VmRSS')][0])")


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
        for _ in range(steps):
            t0 = time.perf_counter()
            await worker.execute("x = 1", echo)
            step_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = await worker.execute(f"for _ in range({calls}):\n    llm('hi')", echo)
        rpc_s = (time.perf_counter() - t0) / calls
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--context-mb", type=int, default=100)
    args = parser.parse_args()
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
