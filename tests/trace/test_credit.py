"""Credit assignment on scripted runs: which steps fed the answer, and what the rest cost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.trace import Credit, Trace, credit
from rlm_toolkit.trace.viewer import from_trace
from tests.helpers import make_rlm, repl

DOC = "\n".join(f"line {i}: filler words here" for i in range(200)) + "\nThe vault code is 4417.\n"
N = 8
HIT = 5


def chunk_reply(messages: list[dict[str, Any]]) -> str:
    """Sub-call replies: chunk HIT holds the finding, the others say they found nothing."""
    prompt = str(messages[-1]["content"])
    if prompt.startswith("chunk"):
        i = int(prompt.split()[1])
        if i == HIT:
            return "The vault code written in the notes is 4417 according to chunk five"
        return f"Nothing relevant appears in chunk number {i} of the notes"
    if prompt.startswith("child"):
        return "the quartz vault opens with code 4417"
    return "unrelated reply"


def by_kind(records: list[Credit], kind: str) -> list[Credit]:
    return [r for r in records if r.kind == kind]


def llm_span_ids_by_prompt(trace: Trace) -> dict[str, int]:
    return {str(s.attrs["prompt"]): s.span_id for s in trace.spans("llm")}


def batch_run(final_code: str, **config: Any) -> tuple[Trace, str]:
    root = ScriptedLLM([
        repl(f"rs = llm_batch(['chunk {{}} of the notes'.format(i) for i in range({N})])\n"
             "print(len(rs))"),
        repl(final_code),
    ])
    sub = ScriptedLLM(chunk_reply, cost_per_call=0.01)
    result = make_rlm(root, sub, **config).run(context=DOC, query="What is the vault code?")
    assert result.status == "success", (result.status, result.error)
    return result.trace, result.answer


def test_answer_from_one_subcall_among_many_credits_only_that_one() -> None:
    trace, answer = batch_run(f"FINAL(rs[{HIT}])")
    assert "4417" in answer
    records = trace.credit()
    llm = by_kind(records, "llm")
    assert len(llm) == N
    hit_id = llm_span_ids_by_prompt(trace)[f"chunk {HIT} of the notes"]
    fed = [r for r in llm if r.contributed]
    assert [r.span_id for r in fed] == [hit_id]
    assert fed[0].method == "value"  # the REPL followed the object, not a text guess
    assert fed[0].share == pytest.approx(1.0, abs=0.01)
    contributing = [r for r in records if r.contributed]
    assert sum(r.share for r in contributing) == pytest.approx(1.0, abs=0.01)
    # The code step that gave the final, and the one that made the call, fed it too.
    code = by_kind(records, "code")
    assert [r.contributed for r in code] == [True, True]
    assert {r.method for r in code} == {"call", "final"}
    # Wasted: the other seven sub-calls, every token of them.
    report = trace.credit_report()
    others = [r for r in llm if r.span_id != hit_id]
    assert all(r.tokens > 0 for r in others)
    assert report.wasted_tokens == sum(r.tokens for r in others)
    assert report.wasted_cost == pytest.approx(0.01 * (N - 1))


def test_a_result_sliced_and_formatted_into_the_answer_is_found_in_its_text() -> None:
    trace, answer = batch_run(
        "hits = [r for r in rs if '4417' in r]\n"
        "FINAL('Found it: ' + hits[0].split(' is ')[1].split(' according')[0] + ' (from the notes)')"
    )
    assert answer == "Found it: 4417 (from the notes)"
    llm = by_kind(trace.credit(), "llm")
    hit_id = llm_span_ids_by_prompt(trace)[f"chunk {HIT} of the notes"]
    fed = [r for r in llm if r.contributed]
    assert [r.span_id for r in fed] == [hit_id]
    assert fed[0].method == "text"
    # The code's own words ("Found it", "from the notes") are the code step's share.
    final_step = [r for r in by_kind(trace.credit(), "code") if r.method == "final"]
    assert len(final_step) == 1 and 0 < final_step[0].share < 1
    assert sum(r.share for r in trace.credit()) == pytest.approx(1.0, abs=0.01)


def test_results_joined_share_the_answer_by_how_much_each_gave() -> None:
    trace, _ = batch_run("FINAL_VAR('rs')")  # every result is in the answer
    llm = by_kind(trace.credit(), "llm")
    assert all(r.contributed and r.method == "value" for r in llm)
    shares = [r.share for r in llm]
    assert sum(shares) == pytest.approx(1.0, abs=0.02)
    assert max(shares) / min(shares) < 2  # similar lengths, similar shares


def test_answer_from_code_alone_gives_no_subcall_credit() -> None:
    trace, answer = batch_run(
        "import re\nm = re.search(r'vault code is (\\d+)', context)\nFINAL(m.group(1))"
    )
    assert answer == "4417"  # the sub-calls said it too, but the code read it from the context
    records = trace.credit()
    assert not any(r.contributed for r in by_kind(records, "llm"))
    code = by_kind(records, "code")
    assert [r.contributed for r in code] == [False, True]
    assert code[1].share == pytest.approx(1.0) and code[1].method == "final"
    report = trace.credit_report()
    assert report.wasted_tokens == sum(r.tokens for r in by_kind(records, "llm")) > 0


def test_credit_flows_through_a_child_runs_own_answer() -> None:
    scripts = {
        "Query: top task": repl("kids = rlm_batch(['child task', 'other task'])\nFINAL(kids[0])"),
        "Query: child task": repl("noise = llm('unrelated question')\n"
                                  "c = llm('child question')\nFINAL('Child found: ' + c)"),
        "Query: other task": repl("o = llm('other question')\nFINAL('other: ' + o)"),
    }

    def root(messages: list[dict[str, Any]]) -> str:
        return scripts[str(messages[1]["content"]).split("\n")[0]]

    result = make_rlm(ScriptedLLM(root), ScriptedLLM(chunk_reply), max_depth=1).run(
        context=DOC, query="top task")
    assert result.answer == "Child found: the quartz vault opens with code 4417"
    trace = result.trace
    records = {r.span_id: r for r in trace.credit()}
    children = trace.spans("child_run")
    assert [c.attrs["query"] for c in children] == ["child task", "other task"]
    fed_child, other_child = (records[c.span_id] for c in children)
    assert fed_child.contributed and fed_child.method == "value"
    assert not other_child.contributed and other_child.share == 0
    assert fed_child.share_total == pytest.approx(1.0, abs=0.01)
    # Inside the child: its 'child question' sub-call fed the child's answer, 'unrelated' not.
    inner = {str(s.attrs["prompt"]): records[s.span_id] for s in children[0].walk()
             if s.kind == "llm"}
    assert inner["child question"].contributed and inner["child question"].share > 0.5
    assert not inner["unrelated question"].contributed
    # Everything the other child spent (its root call and its sub-call) was wasted.
    other_tokens = sum(records[s.span_id].tokens for s in children[1].walk() if s.kind == "llm")
    other_root = sum(s.attrs["usage"]["total_tokens"] for s in children[1].walk()
                     if s.kind == "root_llm")
    unrelated = inner["unrelated question"].tokens
    assert trace.credit_report().wasted_tokens == other_tokens + other_root + unrelated
    contributing = [r for r in records.values() if r.contributed]
    assert sum(r.share for r in contributing) == pytest.approx(1.0, abs=0.01)
    # The viewer's badge on the child run shows what flowed through it, not its own 0%.
    nodes = {n.span_id: n for n in from_trace(trace).nodes}
    badge = nodes[children[0].span_id].credit
    assert badge is not None and badge.contributed
    assert badge.share == pytest.approx(1.0, abs=0.01)


def test_text_final_falls_back_to_an_overlap_guess_and_says_so() -> None:
    root = ScriptedLLM([
        repl(f"rs = llm_batch(['chunk {{}} of the notes'.format(i) for i in range({N})])\n"
             "print(rs[5])"),
        "The vault code written in the notes is 4417, says the search.\n"
        "FINAL(The vault code written in the notes is 4417)",
    ])
    result = make_rlm(root, ScriptedLLM(chunk_reply)).run(context=DOC, query="q")
    assert result.answer == "The vault code written in the notes is 4417"
    fed = [r for r in by_kind(result.trace.credit(), "llm") if r.contributed]
    hit_id = llm_span_ids_by_prompt(result.trace)[f"chunk {HIT} of the notes"]
    assert [(r.span_id, r.method) for r in fed] == [(hit_id, "overlap")]


def test_summary_and_jsonl_carry_the_credit(tmp_path: Path) -> None:
    trace, _ = batch_run(f"FINAL(rs[{HIT}])")
    summary = trace.credit_summary()
    assert len(summary) == len(trace.credit())
    assert all(set(row) == {"step", "result", "contribution"} for row in summary)
    calls = [row for row in summary if "sub-call" in row["step"]]
    fed = [row for row in calls if row["contribution"] > 0]
    assert len(calls) == N and len(fed) == 1
    assert fed[0]["step"].startswith("iteration 1 / code #")  # the batch ran in iteration 1
    assert "4417" in fed[0]["result"] and fed[0]["contribution"] == pytest.approx(1.0, abs=0.01)
    path = tmp_path / "run.jsonl"
    trace.save(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds[-2:] == ["credit", "result"]
    saved = lines[-2]
    assert saved["records"] == [r.to_dict() for r in credit(trace)]
    assert saved["wasted_tokens"] == trace.credit_report().wasted_tokens > 0


def test_a_forged_flow_report_cannot_credit_spans_this_run_did_not_hand_out() -> None:
    # Model code calls the host's flow method itself, naming spans it never received.
    root = ScriptedLLM([
        repl("r = llm('chunk 5 of the notes')"),
        repl("host = llm.__self__._call\n"
             "host('flow', {'step': 2, 'hash': 'x', 'chars': 5, "
             "'results': [[1, 'value', 5], [9999, 'value', 5], ['a', 'b']], 'vars': [['v', -3]]})"),
        repl("FINAL('plain answer from code')"),
    ])
    result = make_rlm(root, ScriptedLLM(chunk_reply)).run(context=DOC, query="q")
    assert result.answer == "plain answer from code"
    forged = result.trace.spans("code")[1].attrs["flow"]
    assert forged["results"] == [] and forged["steps"] == []
    assert not any(r.contributed for r in by_kind(result.trace.credit(), "llm"))


def test_a_code_step_whose_variable_fed_the_answer_contributes() -> None:
    root = ScriptedLLM([
        repl("import re\nnote = 'Vault code: ' + re.search(r'code is (\\d+)', context).group(1)"),
        repl("print(len(note))"),
        repl("FINAL_VAR('note')"),
    ])
    result = make_rlm(root).run(context=DOC, query="q")
    assert result.answer == "Vault code: 4417"
    code = by_kind(result.trace.credit(), "code")
    assert [(r.contributed, r.method) for r in code] == [
        (True, "variable"), (False, ""), (True, "final")]
    assert code[0].share == pytest.approx(0.5) and code[2].share == pytest.approx(0.5)


def test_words_merely_split_off_a_result_are_not_credited_to_it() -> None:
    # 'The', 'vault', 'code', 'is' are split off too, but only the last word is used.
    trace, answer = batch_run(f"FINAL('Code found: ' + rs[{HIT}].split(' is ')[1].split()[0])")
    assert answer == "Code found: 4417"
    hit = next(r for r in by_kind(trace.credit(), "llm") if r.contributed)
    final_step = next(r for r in by_kind(trace.credit(), "code") if r.method == "final")
    # 'Code found' (9 word characters) is the code's own, '4417' (4) the sub-call's.
    assert hit.method == "text" and hit.share == pytest.approx(4 / 13, abs=0.01)
    assert final_step.share + next(r for r in by_kind(trace.credit(), "code")
                                   if r.method == "call").share == pytest.approx(9 / 13, abs=0.01)


def test_a_trace_whose_credit_cannot_be_computed_is_still_saved(tmp_path: Path) -> None:
    trace, answer = batch_run(f"FINAL(rs[{HIT}])")
    code = next(s for s in trace.spans("code") if "flow" in s.attrs)
    code.attrs["flow"]["results"] = [{"span_id": trace.spans("llm")[0].span_id, "chars": "x"}]
    path = tmp_path / "run.jsonl"
    trace.save(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines][-2:] == ["credit", "result"]
    assert lines[-2]["error"].startswith("credit not computed: ValueError")
    assert lines[-1]["answer"] == answer
