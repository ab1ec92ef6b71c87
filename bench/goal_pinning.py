"""Goal pinning and structured sub-calls measured: accuracy and what the root sees.

Grid: `pin_goal` on/off x structured sub-calls on/off, on OOLONG and multi-hop tasks.
Per cell: accuracy (with seeded bootstrap 95% CIs), the root's input tokens per iteration
(what the root sees), and sub-call count. Resumable: records go to
bench/results/goal-pinning-<reader>/results.jsonl.

Readers:
- `oracle`: loopback OpenAI-wire models that measure the mechanism, not a model. The root
  always writes the same program: split the context, ask `llm_batch` to note what matters in
  each part (the prompt does not repeat the question), print the notes, answer from them.
  The sub-reader notes exactly the sentences the question needs when its prompt carries the
  goal, and a generic first-sentences summary when it does not. Free-text notes add a
  paraphrase of the part, as chatty models do; structured notes are `{"facts": [...]}` only.
  The root's view of a step is cut at `max_output_chars`, so long notes lose facts.
- `local`: the embedded model as root and sub (it writes its own code), pin_goal on/off only
  (whether it asks for a schema is its own choice).
- `local-sub`: the seed's map-then-answer program, written once (a loopback root sends it):
  the embedded model notes what matters in each part (`llm_batch`, with or without a schema),
  then answers the question from the notes in one more call (the notes cut at
  `NOTES_SHOWN` characters, as a root's view is). The whole grid on a real small model;
  "root tokens / iteration" is then the answering call's input tokens.

    .venv/bin/python bench/goal_pinning.py --reader oracle --seeds 10
    nohup .venv/bin/python bench/goal_pinning.py --reader local --seeds 3 &
    nohup .venv/bin/python bench/goal_pinning.py --reader local-sub --tokens 2^12 --seeds 5 &
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rlm_toolkit.bench.generate import generate, parse_sizes  # noqa: E402
from rlm_toolkit.bench.methods import MethodOutput  # noqa: E402
from rlm_toolkit.bench.runner import TaskSpec, run_bench  # noqa: E402
from rlm_toolkit.bench.stats import bootstrap_ci  # noqa: E402
from rlm_toolkit.bench.task import Task  # noqa: E402
from rlm_toolkit.providers import resolve  # noqa: E402
from rlm_toolkit.providers.base import Provider  # noqa: E402
from rlm_toolkit.testing.servers import OpenAIServer  # noqa: E402

KINDS = ("oolong", "multihop")
HOP_Q = re.compile(r"is the (.+) kept today")
LINE = re.compile(r"Date: (\w{3} \d\d, \d{4}) \|\| User: (\d+) \|\| Instance: ")
NOTE_PROMPT = "Note what matters in this part of a document:\n"


def root_program(structured: bool) -> str:
    schema = ", schema={'facts': [str]}" if structured else ""
    return (
        "chunks = split_document(context, 3000)\n"
        f"notes = llm_batch([{NOTE_PROMPT!r} + c for c in chunks]{schema})\n"
        "print('\\n'.join('; '.join(n.facts) if hasattr(n, 'facts') else str(n) "
        "for n in notes))"
    )


NOTES_SHOWN = 4_000


def program_of(question: str, structured: bool) -> str:
    """The local-sub root's program: notes on every part, then one answering call."""
    return (
        f"{root_program(structured)}\n"
        "seen = '\\n'.join('; '.join(n.facts) if hasattr(n, 'facts') else str(n) "
        "for n in notes)\n"
        f"FINAL(llm('Question: ' + {question!r} + '\\nNotes on the document:\\n' + "
        f"seen[:{NOTES_SHOWN}] + '\\nAnswer the question from the notes, with the answer "
        "only; if the notes do not say, answer unknown.'))"
    )


class ProgramRoot:
    """The local-sub root: sends `program_of(question)` once; the program ends the run."""

    def __init__(self, structured: bool) -> None:
        self.structured = structured

    def __call__(self, body: dict[str, Any]) -> str:
        messages = body["messages"]
        query = re.search(r"Query: (.+)", str(messages[1]["content"]))
        question = query.group(1) if query else ""
        return f"```repl\n{program_of(question, self.structured)}\n```"


def answer_from(question: str, seen: str) -> str:
    """The oracle root's answer from the notes it was shown (never from the context)."""
    hop = HOP_Q.search(question)
    if hop:
        moved = re.search(rf"the {re.escape(hop.group(1))} was moved to the (.+?) for", seen)
        city = moved and re.search(
            rf"The {re.escape(moved.group(1))} stands in the city of (\w+)", seen)
        return city.group(1) if city else "unknown"
    notes = re.findall(r"(\d{4}-\d\d-\d\d) user (\d+): ([a-z ]+?)(?=;|\n|$)", seen)
    if not notes:
        return "unknown"
    return oolong_answer(question, notes)


def oolong_answer(question: str, notes: list[tuple[str, str, str]]) -> str:
    """An OOLONG question answered from (date, user, label) notes, as the generator does."""
    from collections import Counter

    user = re.search(r"user (\d+)", question)
    label = re.search(r"label '([a-z ]+)'", question)
    window = re.search(r"dated from (\w{3} \d\d, \d{4}) to (\w{3} \d\d, \d{4})", question)
    rows = [(d, u, lab) for d, u, lab in notes if not user or u == user.group(1)]
    if window:
        lo, hi = (dt.datetime.strptime(w, "%b %d, %Y").date().isoformat()
                  for w in window.groups())
        rows = [r for r in rows if lo <= r[0] <= hi]
    counts = Counter(lab for _d, _u, lab in rows)
    compare = re.findall(r"label '([a-z ]+)'", question)
    if "more common than, less" in question and len(compare) == 2:
        a, b = counts[compare[0]], counts[compare[1]]
        return "more common than" if a > b else "less common than" if a < b else (
            "same frequency as")
    if "how many" in question.lower() and label:
        return str(counts[label.group(1)])
    if not counts:
        return "unknown"
    pick = min if "least common" in question else max
    return pick(sorted(counts), key=lambda k: counts[k])


class Oracle:
    """The oracle root and sub-reader of one grid cell (structured or not)."""

    def __init__(self, structured: bool, labels: dict[tuple[str, str], str]) -> None:
        self.structured = structured
        self.labels = labels

    def __call__(self, body: dict[str, Any]) -> str:
        messages = body["messages"]
        last = str(messages[-1]["content"])
        if last.startswith(NOTE_PROMPT):
            goal = str(messages[0]["content"]) if messages[0]["role"] == "system" else ""
            return self.note(goal, last[len(NOTE_PROMPT):].split("\n\nReply with one JSON")[0])
        query = re.search(r"Query: (.+)", str(messages[1]["content"]))
        question = query.group(1) if query else ""
        if len(messages) == 2:
            return f"```repl\n{root_program(self.structured)}\n```"
        return f"```repl\nFINAL({answer_from(question, last)!r})\n```"

    def note(self, goal: str, part: str) -> str:
        hop = HOP_Q.search(goal)
        sentences = re.split(r"(?<=\.)\s+", part.replace("\n", " "))
        if hop:
            facts = [s for s in sentences
                     if hop.group(1) in s or "stands in the city of" in s]
        elif "label" in goal:  # OOLONG: the label of every instance in the part
            facts = []
            for date, uid in LINE.findall(part):
                day = dt.datetime.strptime(date, "%b %d, %Y").date().isoformat()
                facts.append(f"{day} user {uid}: {self.labels.get((day, uid), 'unknown')}")
        else:  # no goal: a generic summary of the part
            facts = [s[:160] for s in sentences[:2]]
        if self.structured:
            return json.dumps({"facts": facts})
        return ("Here is what this part says. " + "; ".join(facts)
                + "\nOverall the passage reads: " + part[:900])


class Cell:
    """One grid cell: an RLM with pin_goal on/off on a given root/sub provider."""

    def __init__(self, name: str, provider: Provider, pin_goal: bool,
                 sub: Provider | None = None, **config: Any) -> None:
        self.name, self.provider, self.pin_goal, self.config = name, provider, pin_goal, config
        self.sub = sub  # None: the provider is root and sub

    async def run(self, task: Task) -> MethodOutput:
        from rlm_toolkit import RLM, RLMConfig

        cfg = RLMConfig(pin_goal=self.pin_goal, step_timeout_s=900, **self.config)
        rlm = RLM(self.provider, self.sub or self.provider, cfg)
        result = await rlm.arun(task.context, task.question)
        roots = result.trace.spans("root_llm")
        if self.sub is not None:  # the answering call is the last sub-call: it reads the notes
            roots = result.trace.spans("llm")[-1:]
        root_in = sum(int((s.attrs.get("usage") or {}).get("input_tokens", 0)) for s in roots)
        return MethodOutput(
            answer=result.answer, status=str(result.status),
            input_tokens=result.usage.input_tokens, output_tokens=result.usage.output_tokens,
            cost=result.cost, iterations=result.iterations, subcalls=result.subcalls,
            error=result.error,
            extra={"root_tokens_per_iteration": round(root_in / max(1, len(roots)), 1)},
        )


def rate(values: list[float], seed: int = 0) -> dict[str, Any]:
    if not values:
        return {"n": 0, "rate": None, "ci": None}
    lo, hi = bootstrap_ci(values, seed=seed)
    return {"n": len(values), "rate": round(sum(values) / len(values), 3),
            "ci": [round(lo, 3), round(hi, 3)]}


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        groups[rec["kind"], rec["method"]].append(rec)
    rows = []
    for (kind, method), recs in sorted(groups.items()):
        seen = [float(r.get("root_tokens_per_iteration") or
                      (r.get("extra") or {}).get("root_tokens_per_iteration") or 0) for r in recs]
        rows.append({"kind": kind, "method": method, "n": len(recs),
                     "accuracy": rate([r["score"] for r in recs]),
                     "root_tokens_per_iteration": round(sum(seen) / len(recs), 1),
                     "subcalls_mean": round(sum(r.get("subcalls", 0) for r in recs) / len(recs), 1),
                     "errors": sum(1 for r in recs if r.get("status") == "error")})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    def cell(r: dict[str, Any]) -> str:
        return f"{r['rate']:.2f} [{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]" if r["n"] else "-"
    head = ("| task | cell | n | accuracy [95% CI] | root tokens / iteration | sub-calls | "
            "errors |\n|---|---|---|---|---|---|---|\n")
    return head + "\n".join(
        f"| {r['kind']} | {r['method']} | {r['n']} | {cell(r['accuracy'])} | "
        f"{r['root_tokens_per_iteration']:,.0f} | {r['subcalls_mean']:.1f} | {r['errors']} |"
        for r in rows) + "\n"


async def bench(args: argparse.Namespace) -> int:
    out = Path(args.out or ROOT / "bench" / "results" / f"goal-pinning-{args.reader}")
    out.mkdir(parents=True, exist_ok=True)
    sizes = parse_sizes(args.tokens)
    kinds = [k for k in args.kinds.split(",") if k]
    items = [TaskSpec(k, n, s) for s in range(args.seeds) for n in sizes for k in kinds]
    servers: list[OpenAIServer] = []
    cells: list[Cell] = []
    if args.reader == "oracle":
        labels: dict[tuple[str, str], str] = {}
        for spec in items:
            if spec.kind == "oolong":
                for rec in generate(spec.kind, spec.tokens, spec.seed).verify["records"]:
                    labels[rec["date"], rec["user"]] = rec["label"]
        for structured in (False, True):
            server = OpenAIServer(Oracle(structured, labels), model="oracle")
            server.__enter__()
            servers.append(server)
            provider = resolve("openai/oracle", base_url=server.base_url, api_key="x")
            for pin in (True, False):
                name = f"pin={'on' if pin else 'off'},structured={'on' if structured else 'off'}"
                cells.append(Cell(name, provider, pin, max_iterations=4))
    elif args.reader == "local-sub":
        sub = resolve(args.model)
        for structured in (False, True):
            server = OpenAIServer(ProgramRoot(structured), model="program")
            server.__enter__()
            servers.append(server)
            provider = resolve("openai/program", base_url=server.base_url, api_key="x")
            for pin in (True, False):
                name = f"pin={'on' if pin else 'off'},structured={'on' if structured else 'off'}"
                cells.append(Cell(name, provider, pin, sub=sub, max_iterations=2,
                                  sub_max_tokens=300, concurrency=1))
    else:
        provider = resolve(args.model)
        for pin in (True, False):
            cells.append(Cell(f"pin={'on' if pin else 'off'}", provider, pin,
                              max_iterations=args.max_iterations, small_model=True))
    try:
        records = await run_bench(items, cells, out / "results.jsonl",
                                  concurrency=args.concurrency, progress=False,
                                  meta={"reader": args.reader})
    finally:
        for provider in {id(c.provider): c.provider for c in cells}.values():
            await provider.aclose()
        for cell in cells[:1]:
            if cell.sub is not None:
                await cell.sub.aclose()
        for server in servers:
            server.__exit__(None, None, None)
    rows = summarize(records)
    (out / "summary.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    table = markdown(rows)
    (out / "summary.md").write_text(f"reader: {args.reader}\n\n{table}", encoding="utf-8")
    print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reader", choices=("oracle", "local", "local-sub"), default="oracle")
    p.add_argument("--model", default="local/qwen2.5-coder-1.5b", help="for --reader local and local-sub")
    p.add_argument("--tokens", default="2^13")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--max-iterations", type=int, default=6)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--out", default=None)
    return asyncio.run(bench(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
