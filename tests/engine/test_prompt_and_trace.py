"""The root prompt never holds the context and stays bounded; the trace records everything."""

from __future__ import annotations

import json

from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.trace import load_jsonl
from tests.helpers import make_rlm, repl

SECRET_MIDDLE = "UNIQUE-MIDDLE-MARKER-7731"


def big_doc(chars: int) -> str:
    body = "".join(f"record {i}: the quick brown fox {i % 97}\n" for i in range(chars // 30))
    mid = len(body) // 2
    return body[:mid] + SECRET_MIDDLE + body[mid:]


def test_context_never_enters_the_root_prompt() -> None:
    doc = big_doc(300_000)
    root = ScriptedLLM([repl("print(len(context))"), repl("FINAL(grep('UNIQUE')[0][:20])")])
    result = make_rlm(root).run(context=doc, query="find the marker")
    assert result.status == "success"
    for text in root.prompt_texts():
        assert SECRET_MIDDLE not in text
        assert len(text) < 10_000
    first_user = root.requests[0][1]["content"]
    assert "300," in first_user or f"{len(doc):,}" in first_user  # size is in the metadata
    assert "str" in first_user and "preview" in first_user


def test_root_prompt_stays_bounded_over_30_iterations() -> None:
    doc = big_doc(100_000)

    def reply(messages):
        return repl("for i in range(300):\n    print('noise line', i)")

    root = ScriptedLLM(reply)
    result = make_rlm(root, max_iterations=30, max_output_chars=2000).run(context=doc, query="q")
    assert result.status == "max_iterations"
    sizes = [len(t) for t in root.prompt_texts()[:30]]
    assert max(sizes[10:]) < 20_000
    # after the recent window fills, the prompt stops growing (only compact summaries are added)
    assert max(sizes[10:]) - min(sizes[10:]) < 24 * 300
    assert "earlier steps, compacted" in root.prompt_texts()[29]


def test_trace_tree_and_reference_jsonl(tmp_path) -> None:
    root = ScriptedLLM([repl("x = llm('summarise: ' + context[:100])\nprint(x)"), "FINAL(x)"],
                       name="scripted/root")
    sub = ScriptedLLM(lambda m: "a summary", name="scripted/sub")
    result = make_rlm(root, sub).run(context=big_doc(10_000), query="summarise")
    trace = result.trace
    run = trace.root
    assert run is not None and run.kind == "run"
    assert [s.kind for s in run.children] == ["iteration", "iteration"]
    first = run.children[0]
    assert [s.kind for s in first.children] == ["root_llm", "code"]
    llm = first.children[1].children[0]
    assert llm.kind == "llm" and llm.attrs["response"] == "a summary"
    assert llm.attrs["model"] == "scripted/sub"
    assert run.attrs["status"] == "success" and run.attrs["answer"] == "a summary"

    path = tmp_path / "run.jsonl"
    trace.save(str(path))
    lines = load_jsonl(path)
    assert lines[0]["type"] == "metadata"
    assert lines[0]["root_model"] == "scripted/root" and lines[0]["max_depth"] == 1
    iters = [line for line in lines if line["type"] == "iteration"]
    assert [i["iteration"] for i in iters] == [1, 2]
    block = iters[0]["code_blocks"][0]
    assert block["code"].startswith("x = llm(")
    assert block["result"]["stdout"].strip() == "a summary"
    assert block["result"]["rlm_calls"][0]["response"] == "a summary"
    assert iters[1]["final_answer"] == "a summary"
    assert lines[-1]["type"] == "result" and lines[-1]["status"] == "success"
    json.dumps(lines)  # every line is plain JSON


def test_two_runs_in_threads_share_nothing() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> str:
        root = ScriptedLLM([repl(f"v = {i}"), repl("FINAL(v * 10)")])
        return make_rlm(root).run(context=f"doc {i}", query="q").answer

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(one, range(4))) == ["0", "10", "20", "30"]
