"""Grounded answers measured: accuracy, citation validity, abstention and hallucination.

Tasks: S-NIAH, multi-hop and `unanswerable` (the asked needle is absent; near-miss keys are
present). Methods: `direct` (the text in the prompt), `rlm1`, and `rlm1+verify`
(`RLMConfig(verify=True)`: one verifier call judges each answer against its citations).

Readers:
- `oracle`: a loopback OpenAI-wire server that reads perfectly and cites exactly what it
  used; it abstains when the needle is absent. Measures the mechanism, not a model.
- `guesser`: the same, except that when the asked needle is absent it reports a near miss's
  number, citing that sentence: a reader that hallucinates convincingly. The verifier (the
  same loopback server, judging strictly) must catch it.
- `local`: the embedded qwen2.5-coder-1.5b (llama.cpp, CPU).

Per (kind, method): accuracy, abstention rate, hallucination rate (a wrong answer that is not
an abstention and not flagged unverified: what a user would take as true), wrong answers
flagged unverified, citation validity, and the verifier's cost in tokens and seconds; rates
with seeded bootstrap 95% CIs. Resumable: records go to bench/results/grounding-<reader>/.

    .venv/bin/python bench/grounding.py --reader oracle --seeds 10
    .venv/bin/python bench/grounding.py --reader local --tokens 2048 --seeds 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rlm_toolkit.bench.generate import parse_sizes  # noqa: E402
from rlm_toolkit.bench.methods import DirectMethod, RLMMethod  # noqa: E402
from rlm_toolkit.bench.runner import TaskSpec, run_bench  # noqa: E402
from rlm_toolkit.bench.stats import bootstrap_ci  # noqa: E402
from rlm_toolkit.engine.grounding import is_not_found  # noqa: E402
from rlm_toolkit.providers import resolve  # noqa: E402
from rlm_toolkit.testing.servers import OpenAIServer  # noqa: E402

KINDS = ("sniah", "multihop", "unanswerable")
NEEDLE_Q = re.compile(r"number for (\S+) mentioned")
HOP_Q = re.compile(r"is the (.+) kept today")


# --- the oracle readers -----------------------------------------------------------------
def root_code(query: str, guess: bool) -> str:
    """The REPL code an oracle root writes: find, cite the exact sentences, or abstain."""
    needle = NEEDLE_Q.search(query)
    if needle:
        key = needle.group(1)
        adjective, noun = key.split("-", 1)
        near = (f"m = re.search(r'special magic number for (?:{adjective}-\\S+|\\S+-{noun}) is "
                "(\\d+)', context)\n") if guess else ""
        return ("import re\n"
                f"m = re.search(r'special magic number for {re.escape(key)} is (\\d+)', context)\n"
                + (f"if not m:\n    {near.strip()}\n" if guess else "")
                + "if m:\n    FINAL(m.group(1), cite=[(m.start(), m.end())])\n"
                "else:\n    FINAL(NOT_FOUND)")
    hop = HOP_Q.search(query)
    if hop:
        return ("import re\n"
                f"a = re.search(r'the {re.escape(hop.group(1))} was moved to the (.+?) for', "
                "context)\n"
                "b = a and re.search('The ' + re.escape(a.group(1)) + r' stands in the city of "
                "(\\w+)', context)\n"
                "if b:\n    FINAL(b.group(1), cite=[(a.start(), a.end()), (b.start(), b.end())])"
                "\nelse:\n    FINAL(NOT_FOUND)")
    return "FINAL(NOT_FOUND)"


def read_answer(text: str, guess: bool) -> str:
    """What a reader gives from the text in its prompt (direct)."""
    question = text.rsplit("Question", 1)[-1]
    needle = NEEDLE_Q.search(question)
    if needle:
        key = needle.group(1)
        hit = re.search(rf"number for {re.escape(key)} is (\d+)", text)
        if hit:
            return hit.group(1)
        adjective, noun = key.split("-", 1)
        near = re.search(rf"number for (?:{adjective}-\S+|\S+-{noun}) is (\d+)", text)
        if guess and near:
            return near.group(1)
        return "The text does not say."
    hop = HOP_Q.search(question)
    if hop:
        moved = re.search(rf"the {re.escape(hop.group(1))} was moved to the (.+?) for", text)
        city = moved and re.search(
            rf"The {re.escape(moved.group(1))} stands in the city of (\w+)", text)
        if city:
            return city.group(1)
    return "The text does not say."


def judge(prompt: str) -> str:
    """A strict verifier: supported when the evidence names the question's subject and the
    answer together (the needle's key, or the artifact and the city)."""
    question = prompt.split("Question: ", 1)[1].split("\n", 1)[0]
    answer = prompt.split("Answer: ", 1)[1].split("\n", 1)[0].strip()
    evidence = prompt.split("Answer: ", 1)[1]
    needle = NEEDLE_Q.search(question)
    if needle:
        ok = f"number for {needle.group(1)} is {answer}" in evidence
        return ("SUPPORTED: the evidence gives that number for that key" if ok else
                f"NOT: the evidence does not give {answer} as the number for {needle.group(1)}")
    hop = HOP_Q.search(question)
    if hop:
        ok = hop.group(1) in evidence and f"city of {answer}" in evidence
        return ("SUPPORTED: both facts are cited" if ok else
                "NOT: the evidence does not link the artifact to that city")
    return "NOT: unknown question"


def oracle(guess: bool) -> Any:
    def reply(body: dict[str, Any]) -> str:
        messages = body["messages"]
        last = str(messages[-1]["content"])
        if last.startswith("You check whether an answer"):
            return judge(last)
        if messages[0]["role"] == "system" and "You answer questions" in messages[0]["content"]:
            return read_answer(last, guess)
        query = re.search(r"Query: (.+)", "\n".join(str(m["content"]) for m in messages))
        return f"```repl\n{root_code(query.group(1) if query else '', guess)}\n```"
    return reply


# --- the summary ------------------------------------------------------------------------
def rate(values: list[float], seed: int) -> dict[str, Any]:
    if not values:
        return {"n": 0, "rate": None, "ci": None}
    lo, hi = bootstrap_ci(values, seed=seed)
    return {"n": len(values), "rate": round(sum(values) / len(values), 3),
            "ci": [round(lo, 3), round(hi, 3)]}


def summarize(records: list[dict[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        groups[rec["kind"], rec["method"]].append(rec)
    rows = []
    for (kind, method), recs in sorted(groups.items()):
        abstained = [is_not_found(r["answer"]) for r in recs]
        wrong = [not a and r["score"] < 1 for r, a in zip(recs, abstained, strict=True)]
        flagged = [r.get("grounded") is False for r in recs]
        cited = [r for r in recs if r.get("citations")]
        verify_tokens = [r.get("verify_tokens", 0) for r in recs]
        total_tokens = [r.get("total_tokens", 0) for r in recs]
        rows.append({
            "kind": kind, "method": method, "n": len(recs),
            "accuracy": rate([r["score"] for r in recs], seed),
            "abstention": rate([float(a) for a in abstained], seed),
            "hallucination": rate([float(w and not f) for w, f in
                                   zip(wrong, flagged, strict=True)], seed),
            "wrong_flagged": sum(1 for w, f in zip(wrong, flagged, strict=True) if w and f),
            "citation_validity": rate([r["citations_valid"] / r["citations"] for r in cited],
                                      seed),
            "verify_tokens_mean": round(sum(verify_tokens) / len(recs), 1),
            "verify_share_of_tokens": round(sum(verify_tokens) / max(1, sum(total_tokens)), 3),
            "verify_s_mean": round(sum(r.get("verify_s", 0.0) for r in recs) / len(recs), 3),
            "wall_s_mean": round(sum(r["wall_s"] for r in recs) / len(recs), 2),
            "errors": sum(1 for r in recs if r.get("status") == "error"),
        })
    return rows


def cell(r: dict[str, Any]) -> str:
    if not r["n"]:
        return "-"
    return f"{r['rate']:.2f} [{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]"


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| task | method | n | accuracy | abstention | hallucination | wrong, flagged | "
            "citation validity | verify tokens (share) | verify s | wall s |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = [
        f"| {r['kind']} | {r['method']} | {r['n']} | {cell(r['accuracy'])} | "
        f"{cell(r['abstention'])} | {cell(r['hallucination'])} | {r['wrong_flagged']} | "
        f"{cell(r['citation_validity'])} | {r['verify_tokens_mean']:.0f} "
        f"({r['verify_share_of_tokens']:.0%}) | {r['verify_s_mean']:.2f} | "
        f"{r['wall_s_mean']:.1f} |"
        for r in rows
    ]
    return head + "\n".join(lines) + "\n"


async def bench(args: argparse.Namespace) -> int:
    out = Path(args.out or ROOT / "bench" / "results" / f"grounding-{args.reader}")
    sizes = parse_sizes(args.tokens)
    kinds = [k for k in args.kinds.split(",") if k]
    # Seeds outermost: a run stopped early still covers every kind and method.
    items = [TaskSpec(k, n, s) for s in range(args.seeds) for n in sizes for k in kinds]
    server = None
    if args.reader in ("oracle", "guesser"):
        server = OpenAIServer(oracle(args.reader == "guesser"), model=args.reader)
        server.__enter__()
        provider = resolve(f"openai/{args.reader}", base_url=server.base_url, api_key="x")
    else:
        provider = resolve(args.model)
    config: dict[str, Any] = {"max_iterations": args.max_iterations}
    if args.reader == "local":
        config["small_model"] = True
    methods = [DirectMethod(provider, window=args.window),
               RLMMethod(provider, provider, depth=1, **config),
               RLMMethod(provider, provider, depth=1, verify=True, **config)]
    try:
        records = await run_bench(items, methods, out / "results.jsonl",
                                  concurrency=args.concurrency, progress=False,
                                  meta={"model": provider.name, "sub_model": provider.name})
    finally:
        await provider.aclose()
        if server is not None:
            server.__exit__(None, None, None)
    rows = summarize(records)
    (out / "summary.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    table = markdown(rows)
    (out / "summary.md").write_text(f"reader: {args.reader} ({provider.name})\n\n{table}",
                                    encoding="utf-8")
    print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reader", choices=("oracle", "guesser", "local"), default="oracle")
    p.add_argument("--model", default="local/qwen2.5-coder-1.5b", help="for --reader local")
    p.add_argument("--tokens", default="2^12,2^14")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--window", type=int, default=8192, help="direct's window, in tokens")
    p.add_argument("--max-iterations", type=int, default=6)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--out", default=None)
    return asyncio.run(bench(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
