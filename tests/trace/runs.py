"""Runs whose traces the viewer's tests look at: a real scripted run, and big synthetic trees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.trace import Trace
from rlm_toolkit.trace.export import load_jsonl
from tests.helpers import make_rlm, repl

#: Text the model could write that breaks out of a page or a terminal if it is not escaped.
HOSTILE = ("</script><script>window.__pwned=1;document.title='pwned'</script>"
           "<img src=x onerror=\"window.__pwned=2\"><!-- \u2028\u2029 \x1b]0;pwned\x07\x1b[2J")
#: HOSTILE as the page and the terminal show it: control characters as their escapes.
HOSTILE_SHOWN = HOSTILE.replace("\x1b", "\\x1b").replace("\x07", "\\x07")
SURROGATE = "lone \ud800 surrogate"
BATCH = 5
ANSWER = "4417"
QUERY = "What is the vault code?"


def sub_reply(messages: list[dict[str, Any]]) -> str:
    prompt = str(messages[-1]["content"])
    if prompt.startswith("Which code"):
        return ANSWER
    if prompt.startswith("part"):
        return f"nothing in {prompt.split()[1]} " + HOSTILE
    return "the child's reply " + SURROGATE


ROOT_SCRIPT = [
    repl(f"parts = llm_batch(['part %d of the file' % i for i in range({BATCH})])\nprint(parts)"),
    repl("code = llm('Which code is in: ' + grep('vault code')[0])\n"
         "kid = rlm_query('summarise the notes')\nprint(code, kid)"),
    repl("x = llm('child part')\nFINAL('child says ' + x)"),  # the child run's only turn
    repl("FINAL(code)"),
]


def scripted_run(path: Path) -> Trace:
    """A real run (jailed REPL): a parallel batch, one sub-call with the answer, a child run."""
    root = ScriptedLLM(list(ROOT_SCRIPT), cost_per_call=0.001)
    sub = ScriptedLLM(sub_reply, latency_s=0.2, name="scripted/sub", cost_per_call=0.0005)
    doc = "filler line\n" * 100 + f"The vault code is {ANSWER}.\n"
    result = make_rlm(root, sub).run(context=doc, query=QUERY)
    assert result.answer == ANSWER, (result.status, result.error)
    result.trace.save(path)
    return result.trace


def synthetic_trace(subcalls: int, answer: str = "done") -> Trace:
    """A finished trace of one iteration whose code step made `subcalls` parallel sub-calls.

    Built span by span (no model, no sandbox), so thousands of nodes cost milliseconds.
    """
    trace = Trace({"root_model": "scripted/root", "sub_model": "scripted/sub"})
    t0 = 1_700_000_000.0
    run = trace.start("run", "run depth=0", query="count the errors", depth=0)
    run.start = t0
    it = trace.start("iteration", "iteration 1", run, response="```repl\n...\n```",
                     prompt=[{"role": "user", "content": "Query: count the errors\n\n"
                                                         "The context variable:\n- type: str"}])
    it.start = t0 + 0.01
    call = trace.start("root_llm", "root call", it, model="scripted/root")
    call.start, call.end = t0 + 0.01, t0 + 0.5
    call.attrs.update(usage={"input_tokens": 900, "output_tokens": 50, "total_tokens": 950},
                      cost=0.001)
    code = trace.start("code", "code", it, code="parts = llm_batch(prompts)\nprint(len(parts))")
    code.start = t0 + 0.5
    for i in range(subcalls):
        s = trace.start("llm", "sub call", code, model="scripted/sub",
                        prompt=f"chunk {i}: how many errors are in this part?")
        s.start = t0 + 0.5 + (i // 32) * 0.3
        s.end = s.start + 0.25
        s.attrs.update(response=f"{i % 7} errors", cost=0.0001,
                       usage={"input_tokens": 40, "output_tokens": 3, "total_tokens": 43})
    code.end = t0 + 0.5 + (subcalls // 32 + 1) * 0.3
    code.attrs.update(stdout=str(subcalls))
    it.end = run.end = code.end + 0.01
    run.attrs.update(answer=answer, status="success", iterations=1, cost=0.2,
                     usage={"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100})
    return trace


def add_credit_line(path: Path, records: list[dict[str, Any]]) -> None:
    """Append a credit line to a saved trace (the form `rlm_toolkit.trace.credit` writes)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"type": "credit", "records": records}) + "\n")


def credit_for(path: Path, answer_text: str) -> list[dict[str, Any]]:
    """Credit records for a saved trace: the sub-call whose reply is `answer_text` fed it."""
    spans: list[dict[str, Any]] = []
    for line in load_jsonl(path):
        stack = [line["spans"]] if line.get("type") == "iteration" else []
        while stack:
            s = stack.pop()
            spans.append(s)
            stack.extend(s["children"])
    out = []
    for s in spans:
        if s["kind"] not in ("llm", "child_run", "code"):
            continue
        fed = s["kind"] == "llm" and s["attrs"].get("response") == answer_text
        tokens = s["attrs"].get("usage", {}).get("total_tokens", 0)
        out.append({"span_id": s["span_id"], "kind": s["kind"], "contributed": fed,
                    "share": 1.0 if fed else 0.0, "tokens": tokens, "cost": 0.0})
    return out


def credit_line(path: Path) -> dict[str, Any]:
    """The trace's credit line, or {} when it was saved without one."""
    return next((line for line in load_jsonl(path) if line.get("type") == "credit"), {})
