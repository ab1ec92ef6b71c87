"""Provider layer benchmark: what the toolkit adds on top of each vendor SDK, on loopback.

Against a server on 127.0.0.1 speaking each native wire (OpenAI chat completions, Anthropic
messages, Gemini generateContent, Ollama /api/chat), through the real SDK:

- latency: median and p95 of sequential calls, bare provider vs wrapped in the resilience
  layer (retries, breaker, concurrency bound) vs answered by the on-disk response cache;
- throughput: calls a second with many in flight (no client-side throttle on loopback);
- faults: a share of calls hit a transient fault (429 / 500 / 503 / reset / malformed / cut);
  how many calls still succeed and how many attempts that took.

Writes JSON under bench/results/. Numbers are of this machine and moment, not a promise.

    .venv/bin/python bench/providers.py                 # 200 calls per measurement
    .venv/bin/python bench/providers.py --calls 500 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rlm_toolkit.providers import resolve
from rlm_toolkit.providers.base import CompletionOptions, Message, Provider
from rlm_toolkit.providers.resilience import ResiliencePolicy
from rlm_toolkit.testing.servers import (
    AnthropicServer,
    Fault,
    GeminiServer,
    OllamaServer,
    OpenAIServer,
    WireServer,
)

WIRES: list[tuple[str, type[WireServer], str]] = [
    ("openai", OpenAIServer, "openai/gpt-bench"),
    ("anthropic", AnthropicServer, "anthropic/claude-bench"),
    ("gemini", GeminiServer, "gemini/gemini-bench"),
    ("ollama", OllamaServer, "ollama/llama-bench"),
]
FAULTS = [Fault.http(429, retry_after=0), Fault.http(500), Fault.http(503), Fault.reset(),
          Fault.malformed(), Fault.cut()]
FAST = {"base_delay_s": 0.001, "max_delay_s": 0.01, "timeout_s": 30.0}


def prompt(i: int) -> list[Message]:
    return [{"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": f"Question number {i}: what colour is the sky?"}]


async def one(provider: Provider, i: int) -> float:
    """Seconds for one call."""
    start = time.perf_counter()
    await provider.complete(prompt(i), CompletionOptions())
    return time.perf_counter() - start


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {"median_ms": round(statistics.median(ms), 3),
            "p95_ms": round(ms[int(len(ms) * 0.95) - 1], 3), "calls": len(ms)}


async def latency(name: str, spec: str, url: str, n: int, cache_dir: Path) -> dict[str, Any]:
    """Sequential calls, the three set-ups interleaved call by call so load drifts hit all."""
    setups: dict[str, Provider] = {
        "bare": resolve(spec, base_url=url, api_key="k", resilience=False, max_retries=0),
        "resilient": resolve(spec, base_url=url, api_key="k",
                             resilience=ResiliencePolicy(**FAST)),
        "cache_hit": resolve(spec, base_url=url, api_key="k", resilience=False, max_retries=0,
                             cache=str(cache_dir / f"{name}.sqlite")),
    }
    for provider in setups.values():
        for i in range(10):
            await one(provider, i)  # warm up connections (and fill the cache for 0..9)
    times: dict[str, list[float]] = {key: [] for key in setups}
    for i in range(n):
        for key, provider in setups.items():
            times[key].append(await one(provider, i % 10))
    for provider in setups.values():
        await provider.aclose()
    return {key: summary(values) for key, values in times.items()}


async def throughput(spec: str, url: str, n: int, concurrency: int) -> dict[str, Any]:
    provider = resolve(spec, base_url=url, api_key="k",
                       resilience=ResiliencePolicy(max_concurrency=concurrency, **FAST))
    await provider.complete(prompt(0), CompletionOptions())
    start = time.perf_counter()
    await asyncio.gather(*(provider.complete(prompt(i), CompletionOptions())
                           for i in range(n)))
    took = time.perf_counter() - start
    await provider.aclose()
    return {"calls": n, "concurrency": concurrency, "seconds": round(took, 3),
            "calls_per_s": round(n / took, 1)}


async def faults(spec: str, srv: WireServer, n: int, share: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    provider = resolve(spec, base_url=srv.base_url, api_key="k",
                       resilience=ResiliencePolicy(max_retries=6, **FAST))
    before = srv.attempts
    ok = 0
    for i in range(n):
        srv.inject(*(rng.choice(FAULTS) for _ in range(3 if rng.random() < share else 0)))
        try:
            out = await provider.complete(prompt(i), CompletionOptions())
            ok += out.text == "blue"
        except Exception:
            pass
    await provider.aclose()
    return {"calls": n, "fault_share": share, "succeeded": ok,
            "attempts": srv.attempts - before}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--fault-share", type=float, default=0.2,
                    help="share of calls whose first three attempts fail")
    ap.add_argument("--wires", default=",".join(w[0] for w in WIRES))
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "providers.json"))
    args = ap.parse_args(argv)
    chosen = set(args.wires.split(","))
    report: dict[str, Any] = {
        "machine": f"{platform.machine()} {platform.system()} python {platform.python_version()}",
        "calls": args.calls, "wires": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, server, spec in WIRES:
            if name not in chosen:
                continue
            with server(lambda body: "blue") as srv:
                row = asyncio.run(latency(name, spec, srv.base_url, args.calls, Path(tmp)))
                row["throughput"] = asyncio.run(
                    throughput(spec, srv.base_url, args.calls, args.concurrency))
                row["faults"] = asyncio.run(
                    faults(spec, srv, args.calls, args.fault_share, seed=7))
            report["wires"][name] = row
            print(f"{name:9s} bare {row['bare']['median_ms']:7.2f} ms  resilient "
                  f"{row['resilient']['median_ms']:7.2f} ms  cache hit "
                  f"{row['cache_hit']['median_ms']:6.2f} ms  "
                  f"{row['throughput']['calls_per_s']:7.1f} calls/s  faults: "
                  f"{row['faults']['succeeded']}/{row['faults']['calls']} ok in "
                  f"{row['faults']['attempts']} attempts", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
