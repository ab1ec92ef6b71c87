"""Overhead of live OpenTelemetry export per iteration, as a ratio to the same run without it.

Each iteration is a root call and one code step that makes an llm_batch of --batch sub-calls
(so 3 + batch spans an iteration), with zero-latency scripted models. The runs alternate, with
and without `RLMConfig(otel=True)`, --repeats times each; the per-iteration time is read from
the trace's iteration spans, and the ratio is of the medians. The spans go over OTLP
http/protobuf to a loopback sink that answers every export with 200 (or to --endpoint, e.g. a
running Phoenix), so the cost measured includes encoding and sending them.

    python bench/otel_overhead.py [--iterations 50] [--batch 4] [--repeats 3] [--endpoint URL]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import platform
import statistics
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.testing import ScriptedLLM

DOC = "benchmark line\n" * 10_000


class Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that takes every export and counts requests and bytes."""

    counts: Any = None  # shared with the bench process: [requests, bytes]

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", 0))
        self.rfile.read(size)
        with Sink.counts.get_lock():
            Sink.counts[0] += 1
            Sink.counts[1] += size
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def serve_sink(port: Any, counts: Any) -> None:
    """The sink, in a process of its own (its work is the collector's, not the run's)."""
    Sink.counts = counts
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    port.value = server.server_address[1]
    server.serve_forever()


def one_run(iterations: int, batch: int, otel: bool, sandbox: str) -> tuple[list[float], int]:
    """Per-iteration seconds of one run, and its span count."""
    step = ("```repl\nrs = llm_batch([f'part {i} of %d' % n for i in range(" + str(batch)
            + ")])\nn += 1\nprint(len(rs))\n```")
    first = "```repl\nn = 0\n```"
    replies = itertools.chain([first], [step] * iterations, itertools.repeat("FINAL(done)"))
    root = ScriptedLLM(lambda m: next(replies))
    sub = ScriptedLLM(lambda m: "ok " + str(m[-1]["content"]))
    cfg = RLMConfig(max_iterations=iterations + 1, sandbox=sandbox, otel=otel)
    result = RLM(root, sub, cfg).run(context=DOC, query="benchmark")
    its = [s.duration_s for s in result.trace.iterations()][1:]  # the first sets up n
    return its, len(result.trace.spans())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sandbox", default="auto")
    ap.add_argument("--endpoint", help="an OTLP/HTTP collector (default: a loopback sink)")
    ap.add_argument("--out", default="bench/results/otel_overhead.json")
    args = ap.parse_args()

    sink = None
    counts = multiprocessing.Array("q", 2)
    endpoint = args.endpoint
    if endpoint is None:
        port = multiprocessing.Value("i", 0)
        sink = multiprocessing.Process(target=serve_sink, args=(port, counts), daemon=True)
        sink.start()
        deadline = time.monotonic() + 30
        while port.value == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port.value}"
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint

    plain: list[float] = []
    traced: list[float] = []
    spans = 0
    one_run(3, args.batch, False, args.sandbox)  # warm: the worker's first start
    for _ in range(args.repeats):
        its, _ = one_run(args.iterations, args.batch, False, args.sandbox)
        plain += its
        its, spans = one_run(args.iterations, args.batch, True, args.sandbox)
        traced += its
    time.sleep(2)  # let the last background export land before reading the sink's counters
    if sink is not None:
        sink.terminate()
        sink.join(10)

    base, with_otel = statistics.median(plain), statistics.median(traced)
    report = {
        "bench": "otel_overhead",
        "iterations": args.iterations, "batch": args.batch, "repeats": args.repeats,
        "spans_per_iteration": 3 + args.batch, "spans_per_run": spans,
        "endpoint": "loopback sink (own process)" if sink is not None else endpoint,
        "iteration_s_without": round(base, 6), "iteration_s_with": round(with_otel, 6),
        "overhead_s_per_iteration": round(with_otel - base, 6),
        "ratio": round(with_otel / base, 4),
        "mean_ratio": round(statistics.mean(traced) / statistics.mean(plain), 4),
        "sink_requests": counts[0], "sink_bytes": counts[1],
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "sandbox": args.sandbox,
    }
    print(json.dumps(report, indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
