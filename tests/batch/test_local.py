"""The local backend over a scripted OpenAI-compatible server: answers, order, resume,
the job budget, a poisoned task, bad input, and the `rlm batch` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlm_toolkit.batch import read_tasks, run_batch
from rlm_toolkit.batch.factory import ModelFactory
from rlm_toolkit.cli.main import main

from .scripted import PoisonFactory, TaskServer, read_results, task_lines


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


def factory(srv: TaskServer) -> ModelFactory:
    return ModelFactory("openai/test-model", base_url=srv.base_url,
                        config={"step_timeout_s": 20})


def test_all_results_right_whatever_order_they_finish_in(tmp_path: Path) -> None:
    # Task 0 answers only after task 4 has its result: results come in finishing order.
    out = tmp_path / "results.jsonl"
    with TaskServer(wait_for={0: (out, "t-4")}) as srv:
        seen = [r.id for r in run_batch(read_tasks(task_lines(6)), factory(srv), "local",
                                        out=out, concurrency=3)]
        backwards = tmp_path / "backwards.jsonl"
        list(run_batch(read_tasks(task_lines(6)[::-1]), factory(srv), "local",
                       out=backwards, concurrency=2))
    rows = {r["id"]: r for r in read_results(out)}
    assert set(rows) == {f"t-{i}" for i in range(6)} and len(seen) == 6
    assert seen.index("t-0") > seen.index("t-4")  # yielded as it finished, not in file order
    for i in range(6):
        row = rows[f"t-{i}"]
        assert (row["status"], row["answer"]) == ("success", f"answer-{i}")
        assert row["usage"]["total_tokens"] > 0 and row["elapsed_s"] > 0
        assert row["node"].endswith(f"/pid{os.getpid()}")
    # the same file in reverse order gives the same answers
    assert {r["id"]: r["answer"] for r in read_results(backwards)} == {
        tid: row["answer"] for tid, row in rows.items()}


def test_the_job_budget_is_never_overshot_by_eight_concurrent_tasks(tmp_path: Path) -> None:
    # Each run uses about 1,750 tokens; eight at once would spend about 14,000 unchecked.
    lines = [json.dumps({**json.loads(line), "max_tokens": 3_000}) for line in task_lines(12)]
    with TaskServer(latency_s=0.05) as srv:
        results = list(run_batch(read_tasks(lines), factory(srv), "local", concurrency=8,
                                 max_tokens=10_000, out=tmp_path / "r.jsonl"))
    by_status: dict[str, int] = {}
    for r in results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    assert srv.tokens <= 10_000  # what the server served: the job's limit held
    assert sum(r.tokens for r in results) == srv.tokens
    assert set(by_status) == {"success", "skipped"} and len(results) == 12
    assert by_status["success"] >= 4  # 3,000-token shares of 10,000, each run using ~1,750
    skipped = [r for r in results if r.status == "skipped"]
    assert all(r.tokens == 0 and "budget was spent" in (r.error or "") for r in skipped)
    assert all(srv.asked[int(r.id.split("-")[1])] == 0 for r in skipped)  # never started


def test_a_poisoned_task_is_an_error_and_the_rest_finish(tmp_path: Path) -> None:
    lines = task_lines(5, t2={"poison": "raise"})
    with TaskServer() as srv:
        fac = PoisonFactory("openai/test-model", base_url=srv.base_url)
        results = {r.id: r for r in run_batch(read_tasks(lines), fac, "local", concurrency=2)}
    assert results["t-2"].status == "error"
    assert "RuntimeError: task t-2 is poisoned" in (results["t-2"].error or "")
    assert all(results[f"t-{i}"].answer == f"answer-{i}" for i in (0, 1, 3, 4))


def test_a_rerun_skips_finished_ids_and_retries_errors_on_request(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    with TaskServer() as srv:
        fac = PoisonFactory("openai/test-model", base_url=srv.base_url)
        list(run_batch(read_tasks(task_lines(4, t3={"poison": "raise"})), fac, out=out))
        asked = dict(srv.asked)
        again = list(run_batch(read_tasks(task_lines(4)), fac, out=out))
        assert again == [] and dict(srv.asked) == asked  # nothing ran twice
        fixed = list(run_batch(read_tasks(task_lines(4)), fac, out=out, retry_errors=True))
    assert [(r.id, r.status, r.answer) for r in fixed] == [("t-3", "success", "answer-3")]
    assert srv.asked[0] == asked[0]


def test_resume_after_the_driver_is_killed_mid_job(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("\n".join(task_lines(10)) + "\n")
    out = tmp_path / "results.jsonl"
    with TaskServer(slow={i: 0.5 for i in range(3, 10)}) as srv:
        cmd = [sys.executable, "-m", "rlm_toolkit.cli.main", "batch", str(tasks), "--out",
               str(out), "--model", "openai/test-model", "--base-url", srv.base_url,
               "--concurrency", "2", "--no-progress"]
        driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None and (
                not out.exists() or len(read_results(out)) < 3):
            time.sleep(0.05)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        first = {r["id"] for r in read_results(out)}
        assert 3 <= len(first) < 10, "the driver was killed after some tasks, before all"
        asked = dict(srv.asked)
        rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = read_results(out)
    assert sorted(r["id"] for r in rows) == sorted(f"t-{i}" for i in range(10))  # once each
    assert all(r["answer"] == f"answer-{r['id'][2:]}" for r in rows)
    for tid in first:  # a finished task was not asked again
        assert srv.asked[int(tid[2:])] == asked[int(tid[2:])]
    assert json.loads(rerun.stdout)["success"] == 10 - len(first)


def test_rlm_batch_runs_the_good_lines_and_names_the_bad_ones(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = tmp_path / "tasks.jsonl"
    lines = task_lines(3)
    lines.insert(1, '{"id": "broken", "query": ')
    lines.append(json.dumps({"id": "t-0", "query": "again", "context": "x"}))
    lines.append(json.dumps({"id": "lost", "query": "q", "context_path": "no/such.txt"}))
    tasks.write_text("\n".join(lines) + "\n")
    out = tmp_path / "results.jsonl"
    with TaskServer() as srv:
        code = main(["batch", str(tasks), "--out", str(out), "--model", "openai/test-model",
                     "--base-url", srv.base_url, "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1  # some lines could not run
    summary = json.loads(captured.out)
    assert (summary["success"], summary["invalid"]) == (3, 3)
    assert "line 2: not valid JSON" in captured.err
    assert "line 5: duplicate id 't-0' (first on line 1)" in captured.err
    assert "line 6: task 'lost': context_path 'no/such.txt' not found" in captured.err
    rows = read_results(out)
    assert {r["id"]: r["answer"] for r in rows if r["status"] == "success"} == {
        "t-0": "answer-0", "t-1": "answer-1", "t-2": "answer-2"}
    assert sorted(r["line"] for r in rows if r["status"] == "invalid") == [2, 5, 6]


def test_the_progress_bar_shows_done_failed_and_the_cost(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = task_lines(4, t1={"poison": "raise"})
    with TaskServer() as srv:
        fac = PoisonFactory("openai/test-model", base_url=srv.base_url)
        list(run_batch(read_tasks(lines), fac, "local", concurrency=2, progress=True,
                       total=4))
    err = capsys.readouterr().err
    assert "4/4" in err
    assert "done 3 · running 0 · failed 1 · $0.0000" in err


def test_the_ray_backend_without_ray_installed_is_a_one_line_hint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rlm_toolkit.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(MissingDependency, match=r"pip install 'rlm-toolkit\[ray\]'"):
        run_batch(read_tasks(task_lines(1)), ModelFactory("openai/x"), "ray")
