"""Throughput of `run_batch` for latency-bound tasks: the local backend against Ray with one
and two worker processes, Ray's overhead per task, and what a large job costs the driver.

Each task is one whole RLM run (jailed REPL included) against a scripted OpenAI-compatible
server on 127.0.0.1 that waits --latency seconds before every reply (a run makes two calls:
the root's answer and the final-answer check). Every configuration runs the same --tasks
tasks; the local backend with 1 and 2 threads is the baseline for Ray with 1 and 2 worker
processes (`ray.init(num_cpus=2)` in this process, one CPU per task). Per-task overhead is
(Ray's wall time - local's wall time) x concurrency / tasks, in the same run.

The driver's side of a big job is measured without model calls: the memory the tasks
reader holds per task (the id index that catches duplicate ids) for --index-tasks synthetic
lines, and the size of a result line from the real runs.

    python bench/batch_throughput.py [--tasks 200] [--latency 0.2] [--index-tasks 100000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from rlm_toolkit.batch import read_tasks, run_batch
from rlm_toolkit.batch.factory import ModelFactory
from rlm_toolkit.testing.servers import OpenAIServer

ASK = re.compile(r"ask-(\d+)")


def reply(body: dict[str, Any]) -> str:
    text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    found = ASK.findall(text)
    return f"FINAL(answer-{found[-1] if found else 'x'})"


def lines(n: int) -> list[str]:
    return [json.dumps({"id": f"task-{i:07d}", "query": f"ask-{i}",
                        "context": f"document {i}: " + "some text " * 20}) for i in range(n)]


def one(name: str, backend: str, concurrency: int, tasks: list[str], factory: ModelFactory,
        out: Path) -> dict[str, Any]:
    began = time.perf_counter()
    results = list(run_batch(read_tasks(tasks), factory, backend,  # type: ignore[arg-type]
                             out=out, concurrency=concurrency))
    wall = time.perf_counter() - began
    bad = [r for r in results if r.status != "success"
           or r.answer != f"answer-{int(r.id[5:])}"]  # type: ignore[index]
    if bad:
        raise SystemExit(f"{name}: {len(bad)} wrong results, e.g. {bad[0]}")
    row = {"config": name, "backend": backend, "concurrency": concurrency,
           "tasks": len(results), "wall_s": round(wall, 3),
           "tasks_per_s": round(len(results) / wall, 3),
           "median_task_s": round(statistics.median(r.elapsed_s for r in results), 3),
           "result_bytes_per_task": round(out.stat().st_size / len(results), 1)}
    print(json.dumps(row), flush=True)
    return row


def index_memory(n: int) -> dict[str, Any]:
    """Peak Python memory of reading n task lines through the reader (ids kept for dups)."""
    rows = lines(n)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    reader = read_tasks(iter(rows))
    count = sum(1 for _ in itertools.islice(reader, n - 1))  # the reader still holds its index
    current, peak = tracemalloc.get_traced_memory()
    count += sum(1 for _ in reader)
    tracemalloc.stop()
    assert count == n
    return {"index_tasks": n, "held_bytes_per_task": round((current - base) / n, 1),
            "peak_bytes_per_task": round((peak - base) / n, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per call")
    parser.add_argument("--index-tasks", type=int, default=100_000)
    parser.add_argument("--out", default="bench/results/batch_throughput.json")
    parser.add_argument("--index-only", action="store_true",
                        help="only measure the reader's memory per task (no runs)")
    args = parser.parse_args()
    if args.index_only:
        print(json.dumps(index_memory(args.index_tasks)))
        return 0
    os.environ.setdefault("OPENAI_API_KEY", "bench")  # Ray's workers inherit it
    import ray

    tasks = lines(args.tasks)
    rows: list[dict[str, Any]] = []
    with OpenAIServer(reply, latency_s=args.latency) as srv, \
            tempfile.TemporaryDirectory() as tmp:
        factory = ModelFactory("openai/test-model", base_url=srv.base_url)
        one("warm-up", "local", 2, tasks[:4], factory, Path(tmp, "warm.jsonl"))
        for c in (1, 2):
            rows.append(one(f"local x{c}", "local", c, tasks, factory, Path(tmp, f"l{c}.jsonl")))
        began = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
        ray_start = time.perf_counter() - began
        try:
            one("ray warm-up", "ray", 2, tasks[:4], factory, Path(tmp, "rwarm.jsonl"))
            for c in (1, 2):
                rows.append(one(f"ray x{c}", "ray", c, tasks, factory,
                                Path(tmp, f"r{c}.jsonl")))
        finally:
            ray.shutdown()
        calls = len(srv.requests)
    local = {r["concurrency"]: r for r in rows if r["backend"] == "local"}
    for row in rows:
        base = local[row["concurrency"]]
        row["ratio_to_local"] = round(row["wall_s"] / base["wall_s"], 3)
        row["overhead_per_task_s"] = round(
            (row["wall_s"] - base["wall_s"]) * row["concurrency"] / row["tasks"], 4)
    memory = index_memory(args.index_tasks)
    report = {"bench": "batch_throughput", "tasks": args.tasks, "latency_s": args.latency,
              "calls_served": calls, "ray_start_s": round(ray_start, 2), "rows": rows,
              "driver_memory": memory, "cpus": os.cpu_count(),
              "python": sys.version.split()[0], "platform": platform.platform(),
              "ray": ray.__version__}
    print(json.dumps(report, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
