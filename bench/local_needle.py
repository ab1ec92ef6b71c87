"""A needle in a long text, on the embedded local model: RLM against the model read directly.

The haystack is Pride and Prejudice (examples/data), repeated past its end for the largest
sizes; one sentence, "The secret code for the vault is <CODE>.", is put at a seeded depth.
Two methods on the same model (llama.cpp in-process, 2 threads on this machine's CPU):

- rlm:    RLM.local() — the text stays in the REPL; the model greps and reads slices.
- direct: the text in the prompt, cut to the model's window (`--window` tokens) when larger.

For each size: accuracy (the code in the answer), LLM tokens processed (prompt + output over
all calls; `computed` leaves out prompt tokens served from the KV cache), and wall time.
Prints a markdown table and writes JSON to bench/results/local_needle.json.

    .venv/bin/python bench/local_needle.py                          # 8K .. 1M characters
    .venv/bin/python bench/local_needle.py --sizes 8000,64000 --seeds 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import string
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rlm_toolkit import RLM, RLMConfig  # noqa: E402
from rlm_toolkit.errors import ProviderError  # noqa: E402
from rlm_toolkit.providers.base import CompletionOptions, Message  # noqa: E402
from rlm_toolkit.providers.local import LocalProvider  # noqa: E402

BOOK = ROOT / "examples" / "data" / "pride_and_prejudice.txt"
QUERY = "What is the secret code for the vault?"
DIRECT_SYSTEM = "Answer the question from the text. Reply with the answer only."


@dataclass
class Row:
    method: str
    chars: int
    seed: int
    depth: float
    correct: bool
    answer: str
    tokens: int
    computed_tokens: int
    seconds: float
    iterations: int
    note: str = ""


def haystack(chars: int, seed: int) -> tuple[str, str, float]:
    """(text, code, depth): the book cut or repeated to `chars`, the needle at a seeded depth."""
    rng = random.Random(seed * 7919 + chars)
    book = BOOK.read_text()
    text = (book * (chars // len(book) + 1))[:chars]
    code = "".join(rng.choice(string.digits) for _ in range(4)) + "-" + \
        "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
    depth = rng.uniform(0.1, 0.9)
    cut = text.rfind("\n", 0, int(len(text) * depth)) + 1
    needle = f"The secret code for the vault is {code}.\n"
    return text[:cut] + needle + text[cut:], code, depth


def run_rlm(provider: LocalProvider, text: str, code: str, max_iterations: int) -> Row:
    started = time.perf_counter()
    result = RLM(provider, config=RLMConfig(max_iterations=max_iterations)).run(
        context=text, query=QUERY)
    usage = result.usage
    return Row("rlm", len(text), 0, 0.0, code in result.answer, result.answer[:80],
               usage.total_tokens, usage.total_tokens - usage.cached_tokens,
               time.perf_counter() - started, result.iterations, result.status)


def run_direct(provider: LocalProvider, text: str, code: str, window: int) -> Row:
    started = time.perf_counter()
    budget = int((window - 300) * 3.2)  # characters; shrunk below if the tokenizer disagrees
    note = ""
    while True:
        shown = text[:budget]
        messages: list[Message] = [
            {"role": "system", "content": DIRECT_SYSTEM},
            {"role": "user", "content": f"{shown}\n\nQuestion: {QUERY}"},
        ]
        try:
            done = asyncio.run(provider.complete(messages, CompletionOptions(max_tokens=48)))
            break
        except ProviderError as exc:
            if "does not fit" not in str(exc):
                raise
            budget = int(budget * 0.85)
    if len(shown) < len(text):
        note = f"cut to {len(shown):,} chars"
    usage = done.usage
    return Row("direct", len(text), 0, 0.0, code in done.text, done.text.strip()[:80],
               usage.total_tokens, usage.total_tokens - usage.cached_tokens,
               time.perf_counter() - started, 1, note)


def summarise(rows: list[Row]) -> list[dict[str, object]]:
    out = []
    for method in sorted({r.method for r in rows}, reverse=True):
        for chars in sorted({r.chars for r in rows}):
            cell = [r for r in rows if r.method == method and r.chars == chars]
            if not cell:
                continue
            out.append({
                "method": method, "chars": chars, "n": len(cell),
                "accuracy": sum(r.correct for r in cell) / len(cell),
                "tokens": statistics.mean(r.tokens for r in cell),
                "computed_tokens": statistics.mean(r.computed_tokens for r in cell),
                "seconds": statistics.mean(r.seconds for r in cell),
                "note": "; ".join(sorted({r.note for r in cell if r.note})),
            })
    return out


def table(summary: list[dict[str, object]]) -> str:
    lines = ["| size (chars) | method | accuracy | LLM tokens (computed) | wall time | note |",
             "|---:|---|---:|---:|---:|---|"]
    for s in summary:
        lines.append(
            f"| {s['chars']:,} | {s['method']} | {s['accuracy']:.0%} (n={s['n']}) | "
            f"{s['tokens']:,.0f} ({s['computed_tokens']:,.0f}) | {s['seconds']:.0f} s | "
            f"{s['note']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--sizes", default="8000,32000,128000,512000,1100000")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--methods", default="rlm,direct")
    parser.add_argument("--window", type=int, default=8192, help="direct: the model's window")
    parser.add_argument("--max-iterations", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "local_needle.json"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    methods = args.methods.split(",")
    provider = LocalProvider(args.model, n_ctx=args.window)
    rows: list[Row] = []
    for chars in sizes:
        for seed in range(args.seeds):
            text, code, depth = haystack(chars, seed)
            for method in methods:
                row = (run_rlm(provider, text, code, args.max_iterations) if method == "rlm"
                       else run_direct(provider, text, code, args.window))
                row.seed, row.depth = seed, round(depth, 3)
                rows.append(row)
                print(f"{method:>6} {chars:>9,} chars seed {seed}: "
                      f"{'right' if row.correct else 'wrong'} ({row.answer!r}) "
                      f"{row.tokens:,} tokens, {row.seconds:.0f} s", flush=True)
    provider.close()
    summary = summarise(rows)
    print()
    print(table(summary))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "bench": "local_needle", "model": f"local/{args.model}", "window": args.window,
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or
                    platform.machine(), "threads": provider.runtime.n_threads},
        "summary": summary, "rows": [asdict(r) for r in rows],
    }, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
