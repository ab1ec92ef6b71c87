"""A small bench run end to end: RLM through its public API on scripted models that write
correct REPL code, the baselines, the JSONL, the summary, resume, and the CLI over the
OpenAI wire against a server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from rlm_toolkit.bench import generate, load_results, run_bench, write_reports
from rlm_toolkit.bench.instances import LABELS, all_instances
from rlm_toolkit.bench.methods import DirectMethod, MapReduceMethod, MethodOutput, RLMMethod
from rlm_toolkit.bench.oolong import generate_oolong
from rlm_toolkit.bench.plot import MISSING_HINT, have_matplotlib
from rlm_toolkit.bench.runner import RESULTS_FILE, TaskSpec
from rlm_toolkit.bench.task import Task
from rlm_toolkit.cli.bench import main as bench_main
from rlm_toolkit.cli.main import main as rlm_main
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.servers import OpenAIServer

LABEL_OF = {text: label for label in LABELS for text in all_instances(label)}
FIELDS = {"task_id", "kind", "tokens", "seed", "method", "question", "gold", "answer", "score",
          "status", "input_tokens", "output_tokens", "total_tokens", "cost", "wall_s",
          "iterations", "subcalls", "context_tokens"}


def root_code(query: str) -> str:
    """The REPL code a capable root model would write for each task kind."""
    if "special magic number" in query:
        key = re.search(r"number for (\S+) mentioned", query).group(1)  # type: ignore[union-attr]
        return (f"import re\nm = re.search(r'special magic number for {key} is (\\d+)', context)\n"
                "FINAL(m.group(1))")
    if "kept today" in query:
        artifact = re.search(r"is the (.+) kept today", query).group(1)  # type: ignore[union-attr]
        return (f"import re\nvault = re.search(r'the {artifact} was moved to the (.+?) for', "
                "context).group(1)\ncity = re.search('The ' + vault + r' stands in the city of "
                "(\\w+)', context).group(1)\nFINAL(city)")
    label = re.search(r"with the label '([^']+)'", query).group(1)  # type: ignore[union-attr]
    return ("rows = [l.split(' || Instance: ', 1)[1] for l in context.splitlines() "
            "if ' || Instance: ' in l]\n"
            "labels = llm_batch(['Which label fits this question? ' + r for r in rows])\n"
            f"FINAL(str(sum(1 for x in labels if x.strip() == {label!r})))")


def model(messages: list[dict]) -> str:
    """One scripted model for every role: RLM root, sub-calls, direct reader, map, reduce."""
    last = messages[-1]["content"]
    if last.startswith("Which label fits this question? "):
        return LABEL_OF[last.split("? ", 1)[1]]
    if last.startswith("Below is part"):
        found = re.findall(r"The special magic number for \S+ is \d+", last)
        return "\n".join(found) or "NONE"
    if messages[0]["role"] == "system" and "You answer questions" in messages[0]["content"]:
        key = re.search(r"number for (\S+) mentioned", last)
        if key:
            hit = re.search(rf"number for {key.group(1)} is (\d+)", last)
            if hit:
                return hit.group(1)
        return "I do not know"
    query = re.search(r"Query: (.+)", "\n".join(m["content"] for m in messages))
    assert query, "expected an RLM root prompt"
    return f"```repl\n{root_code(query.group(1))}\n```"


def tasks() -> list[Task]:
    return [generate("sniah", 4096, 0), generate("multihop", 4096, 0),
            generate_oolong(1024, 0, "count")]


def rlm_method(llm: ScriptedLLM, depth: int = 1) -> RLMMethod:
    return RLMMethod(llm, llm, depth=depth, max_iterations=3, step_timeout_s=20)


async def test_bench_run_writes_scored_jsonl_summary_and_resumes(tmp_path: Path) -> None:
    llm = ScriptedLLM(model, context_window=4096)
    methods = [rlm_method(llm), DirectMethod(llm)]
    path = tmp_path / RESULTS_FILE
    records = await run_bench(tasks(), methods, path, progress=False, total=6)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == len(records) == 6
    for rec in lines:
        assert set(rec) >= FIELDS
        assert rec["total_tokens"] == rec["input_tokens"] + rec["output_tokens"] > 0
    by = {(r["kind"], r["method"]): r for r in lines}
    for kind in ("sniah", "multihop", "oolong"):
        rec = by[kind, "rlm1"]
        assert rec["status"] == "success", rec
        assert rec["score"] == 1.0 and rec["answer"].strip() == str(rec["gold"])
        assert rec["iterations"] >= 1
    n_records = len(tasks()[2].verify["records"])
    assert by["oolong", "rlm1"]["subcalls"] == n_records
    assert by["multihop", "direct"]["score"] == 0.0  # the scripted reader only finds needles
    assert by["sniah", "direct"]["truncated"] is True  # 4096-token task in a 4096 window

    _rows, notes = write_reports(records, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["bootstrap_seed"] == 0
    cells = {(r["kind"], r["method"], r["tokens"]): r for r in summary["rows"]}
    assert cells["sniah", "rlm1", 4096]["mean"] == 1.0 and cells["sniah", "rlm1", 4096]["n"] == 1
    assert cells["all", "rlm1", 4096]["n"] == 2  # sniah and multihop; oolong is 1024 tokens
    assert cells["all", "direct", 4096]["mean"] == pytest.approx(
        (by["sniah", "direct"]["score"] + by["multihop", "direct"]["score"]) / 2)
    md = (tmp_path / "summary.md").read_text()
    assert "| oolong | 1,024 | rlm1 | 1 | 1.000 [1.000, 1.000]" in md
    if have_matplotlib():
        assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    else:
        assert MISSING_HINT in notes and not (tmp_path / "plot.png").exists()

    # Resume: nothing left to do, so no model is called.
    again = ScriptedLLM(model, context_window=4096)
    await run_bench(tasks(), [rlm_method(again), DirectMethod(again)], path, progress=False)
    assert again.calls == 0
    assert len(path.read_text().splitlines()) == 6

    # An interrupted run: one result missing and a torn last line. Only that pair reruns.
    kept = [x for x in path.read_text().splitlines()
            if not ('"sniah-4096-s0"' in x and '"method": "rlm1"' in x)]
    path.write_text("\n".join(kept) + '\n{"task_id": "sniah-40')
    third = ScriptedLLM(model, context_window=4096)
    records = await run_bench(tasks(), [rlm_method(third), DirectMethod(third)], path,
                              progress=False)
    assert third.calls == 1
    assert len(records) == 6
    assert load_results(path)["sniah-4096-s0", "rlm1"]["score"] == 1.0


class Failing:
    name = "flaky"

    def __init__(self) -> None:
        self.fail = True

    async def run(self, task: Task) -> MethodOutput:
        if self.fail:
            raise RuntimeError("server went away")
        return MethodOutput(answer=str(task.gold))


async def test_failures_are_recorded_scored_zero_and_retried_on_request(tmp_path: Path) -> None:
    path = tmp_path / RESULTS_FILE
    method = Failing()
    specs = [TaskSpec("sniah", 1024, 0), TaskSpec("sniah", 1024, 1)]
    recs = await run_bench(specs, [method], path, progress=False)
    assert [r["status"] for r in recs] == ["error", "error"]
    assert all(r["score"] == 0.0 and "server went away" in r["error"] for r in recs)
    method.fail = False
    recs = await run_bench(specs, [method], path, progress=False)
    assert [r["status"] for r in recs] == ["error", "error"]  # kept unless asked
    recs = await run_bench(specs, [method], path, progress=False, retry_errors=True)
    assert [r["status"] for r in recs] == ["ok", "ok"]
    assert all(r["score"] == 1.0 for r in recs)


async def test_progress_bar_shows_tasks_cost_and_score(tmp_path: Path) -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=160)
    llm = ScriptedLLM(model, cost_per_call=0.25)
    await run_bench([generate("sniah", 1024, 0)], [DirectMethod(llm, window=8192)],
                    tmp_path / RESULTS_FILE, console=console, total=1)
    out = buf.getvalue()
    assert "1/1" in out and "$0.2500" in out and "score 1.000" in out


async def test_rlm_depths_and_mapreduce_run_on_the_same_task(tmp_path: Path) -> None:
    llm = ScriptedLLM(model, context_window=4096)
    methods = [rlm_method(llm, 0), rlm_method(llm, 2), MapReduceMethod(llm, chunk_tokens=512)]
    recs = await run_bench([generate("sniah", 2048, 5)], methods, tmp_path / "r.jsonl",
                           progress=False)
    assert {r["method"]: r["score"] for r in recs} == {"rlm0": 1.0, "rlm2": 1.0, "mapreduce": 1.0}


# --- the command line --------------------------------------------------------------------


def test_generate_writes_the_same_bytes_every_time(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    argv = ["generate", "--task", "sniah,pairs", "--tokens", "1k,2^11", "--seed", "5",
            "--count", "2"]
    assert bench_main([*argv, "--out", str(a)]) == 0
    assert rlm_main(["bench", *argv, "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    rows = [json.loads(x) for x in a.read_text().splitlines()]
    assert [(r["kind"], r["tokens"], r["seed"]) for r in rows] == [
        ("sniah", 1024, 5), ("sniah", 1024, 6), ("sniah", 2048, 5), ("sniah", 2048, 6),
        ("pairs", 1024, 5), ("pairs", 1024, 6), ("pairs", 2048, 5), ("pairs", 2048, 6)]
    assert all({"context", "question", "gold", "verify"} <= set(r) for r in rows)
    assert "wrote 8 task(s)" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert bench_main(["generate", "--task", "essay", "--out", str(tmp_path / "x")]) == 1
    assert "unknown task 'essay'" in capsys.readouterr().err
    assert bench_main(["report", "--out", str(tmp_path / "none")]) == 2
    assert bench_main([]) == 2


def test_cli_run_over_the_openai_wire_then_resume(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    tasks_file = tmp_path / "tasks.jsonl"
    assert bench_main(["generate", "--task", "sniah", "--tokens", "2048", "--count", "2",
                       "--out", str(tasks_file)]) == 0
    out = tmp_path / "res"
    argv = ["run", "--model", "openai/test-model", "--methods", "rlm1,direct,mapreduce",
            "--tasks-file", str(tasks_file), "--window", "4096", "--chunk-tokens", "1024",
            "--max-iterations", "3", "--no-progress", "--out", str(out)]
    with OpenAIServer(lambda body: model(body["messages"])) as server:
        assert bench_main([*argv, "--base-url", server.base_url]) == 0
        served = len(server.requests)
        assert bench_main([*argv, "--base-url", server.base_url]) == 0
        assert len(server.requests) == served  # resumed: nothing rerun
    recs = [json.loads(x) for x in (out / RESULTS_FILE).read_text().splitlines()]
    assert len(recs) == 6
    assert all(r["score"] == 1.0 for r in recs), [(r["method"], r["answer"]) for r in recs]
    assert all(r["cost"] == 0.0 for r in recs)  # a loopback server costs nothing
    printed = capsys.readouterr().out
    assert "| sniah | 2,048 | rlm1 | 2 | 1.000 [1.000, 1.000]" in printed
    assert "Models: root model: openai/test-model; sub model: openai/test-model" in printed
    assert all(r["model"] == "openai/test-model" for r in recs)
    # The same folder cannot take results of another model.
    assert bench_main([*argv, "--base-url", "http://127.0.0.1:9/v1", "--model",
                       "openai/other"]) == 1
    assert "holds results for model 'openai/test-model'" in capsys.readouterr().err
    assert (out / "summary.md").exists() and (out / "summary.json").exists()
    assert bench_main(["report", "--out", str(out)]) == 0


@pytest.mark.parametrize("size", ["8k", "2^13", "8192"])
def test_sizes_parse(size: str) -> None:
    from rlm_toolkit.bench import parse_size

    assert parse_size(size) == 8192


async def test_an_rlm_run_stopped_by_a_limit_is_recorded_with_its_status(tmp_path: Path) -> None:
    llm = ScriptedLLM(lambda messages: "```repl\nprint(len(context))\n```")
    method = RLMMethod(llm, depth=1, max_iterations=2, step_timeout_s=20)
    (rec,) = await run_bench([generate("sniah", 1024, 0)], [method], tmp_path / "r.jsonl",
                             progress=False)
    assert rec["status"] == "max_iterations"
    assert rec["iterations"] == 2
    assert rec["score"] == 0.0


def test_size_ranges_expand_to_powers_of_two() -> None:
    from rlm_toolkit.bench import parse_sizes
    from rlm_toolkit.errors import ConfigError

    assert parse_sizes("2^13..2^16") == [8192, 16384, 32768, 65536]
    assert parse_sizes("1k, 8k..16k") == [1024, 8192, 16384]
    with pytest.raises(ConfigError, match=r"small\.\.large"):
        parse_sizes("16k..8k")
    with pytest.raises(ConfigError, match="bad size"):
        parse_sizes("lots")


async def test_an_rlm_run_writes_its_trace_where_asked(tmp_path: Path) -> None:
    llm = ScriptedLLM(lambda messages: "```repl\nprint(len(context))\n```")
    method = RLMMethod(llm, depth=1, max_iterations=2, step_timeout_s=20,
                       trace_dir=tmp_path / "traces")
    task = generate("sniah", 1024, 0)
    await run_bench([task], [method], tmp_path / "r.jsonl", progress=False)
    (saved,) = (tmp_path / "traces").iterdir()
    assert saved.name == f"{task.id}-rlm1.jsonl"
    assert "print(len(context))" in saved.read_text()
