"""Framework overhead of the RLM loop, and llm_batch throughput, as ratios to a baseline.

1. Per-iteration overhead: an RLM iteration (root call + one code step + bookkeeping) with a
   zero-latency scripted model, against the same work done by hand (a bare provider call plus
   a bare worker step) in the same run.
2. llm_batch throughput: N prompts through the real OpenAI SDK against a loopback server with a
   fixed latency, against the ideal ceil(N / concurrency) x latency.

    python bench/overhead.py [--iterations 200] [--prompts 200] [--latency 0.05] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import time
from pathlib import Path

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.providers.base import CompletionOptions
from rlm_toolkit.sandbox import Worker, WorkerOptions
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.servers import OpenAIServer

STEP = "```repl\nx = len(context)\nprint(x)\n```"
DOC = "benchmark line\n" * 50_000


async def bare_iteration_cost(n: int, sandbox: str) -> float:
    """Seconds per (provider call + worker step) done directly, with no engine around them."""
    llm = ScriptedLLM(lambda m: STEP)
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]

    async def handler(method: str, args: dict) -> list[str]:
        return []

    async with Worker(DOC, WorkerOptions(sandbox=sandbox)) as worker:
        started = time.perf_counter()
        for _ in range(n):
            await llm.complete(messages, CompletionOptions())  # type: ignore[arg-type]
            await worker.execute("x = len(context)\nprint(x)", handler)
        return (time.perf_counter() - started) / n


def engine_iteration_cost(n: int, sandbox: str) -> tuple[float, float]:
    """Seconds per engine iteration, and the run's start-up (worker start, first prompt)."""
    root = ScriptedLLM(lambda m: STEP)
    rlm = RLM(root, config=RLMConfig(max_iterations=n, sandbox=sandbox))
    started = time.perf_counter()
    result = rlm.run(context=DOC, query="benchmark")
    total = time.perf_counter() - started
    iterations = [s.duration_s for s in result.trace.iterations()]
    return statistics.mean(iterations), total - sum(iterations)


async def sdk_direct(base_url: str, prompts: int, concurrency: int) -> float:
    """The same prompts through the bare OpenAI SDK with a semaphore: no engine, no sandbox."""
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    slots = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with slots:
            await client.chat.completions.create(
                model="bench", messages=[{"role": "user", "content": f"prompt {i}"}])

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(prompts)))
    took = time.perf_counter() - started
    await client.close()
    return took


def batch_throughput(prompts: int, latency: float, concurrency: int) -> dict[str, float]:
    code = f"r = llm_batch(['prompt %d' % i for i in range({prompts})])\nprint(len(r))"
    replies = iter([f"```repl\n{code}\n```", "FINAL('done')"])
    with OpenAIServer(lambda body: "ok" if body["messages"][0]["role"] == "user" else next(replies),
                      latency_s=latency) as server:
        rlm = RLM.from_openai("bench", base_url=server.base_url, api_key="x",
                              config=RLMConfig(concurrency=concurrency, max_subcalls=prompts + 10))
        result = rlm.run(context=DOC, query="throughput")
        direct = asyncio.run(sdk_direct(server.base_url, prompts, concurrency))
    step = result.trace.spans("code")[0]
    ideal = math.ceil(prompts / concurrency) * latency
    return {"prompts": prompts, "latency_s": latency, "concurrency": concurrency,
            "measured_s": round(step.duration_s, 4), "ideal_s": round(ideal, 4),
            "ratio_to_ideal": round(step.duration_s / ideal, 3),
            "sdk_direct_s": round(direct, 4), "ratio_to_sdk_direct": round(step.duration_s / direct, 3),
            "subcalls": result.subcalls}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--prompts", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--sandbox", default="auto")
    ap.add_argument("--out", default="bench/results/overhead.json")
    args = ap.parse_args()

    bare = asyncio.run(bare_iteration_cost(args.iterations, args.sandbox))
    per_iter, startup = engine_iteration_cost(args.iterations, args.sandbox)
    batch = batch_throughput(args.prompts, args.latency, args.concurrency)
    report = {
        "iteration": {
            "iterations": args.iterations,
            "sandbox": args.sandbox,
            "engine_ms": round(per_iter * 1000, 3),
            "bare_call_plus_step_ms": round(bare * 1000, 3),
            "overhead_ms": round((per_iter - bare) * 1000, 3),
            "ratio_to_bare": round(per_iter / bare, 3),
            "run_startup_ms": round(startup * 1000, 1),
        },
        "llm_batch": batch,
    }
    it = report["iteration"]
    print(f"per iteration: engine {it['engine_ms']} ms vs bare call+step {it['bare_call_plus_step_ms']} ms"
          f" -> overhead {it['overhead_ms']} ms (x{it['ratio_to_bare']}); run start-up {it['run_startup_ms']} ms")
    print(f"llm_batch: {batch['prompts']} prompts at {batch['latency_s'] * 1000:.0f} ms, concurrency "
          f"{batch['concurrency']}: {batch['measured_s']} s vs ideal {batch['ideal_s']} s "
          f"(x{batch['ratio_to_ideal']}); bare SDK with the same concurrency {batch['sdk_direct_s']} s "
          f"(x{batch['ratio_to_sdk_direct']})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
