"""The Ray backend on a real two-node Ray cluster on this machine (started once for the
module), over a scripted OpenAI-compatible server: answers, nodes, the job budget with eight
concurrent tasks, a worker process killed mid-task, a poisoned task, a killed driver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit.batch import read_tasks, run_batch

from . import scripted
from .scripted import PoisonFactory, TaskServer, read_results, task_lines

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A head node and a second node process, one CPU each; shut down at the end."""
    from ray.cluster_utils import Cluster

    old_key = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = "test-key"  # the workers inherit it from the nodes
    ray.cloudpickle.register_pickle_by_value(scripted)  # workers need not import tests/
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1,
                                                          "include_dashboard": False})
    try:
        nodes.add_node(num_cpus=1)
        ray.init(address=nodes.address, log_to_driver=False)
        nodes.wait_for_nodes(timeout=120)
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()
        if old_key is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = old_key


def factory(srv: TaskServer) -> PoisonFactory:
    return PoisonFactory("openai/test-model", base_url=srv.base_url,
                         config={"step_timeout_s": 20})


def test_all_results_right_on_both_nodes_whatever_the_order(cluster: Any,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with TaskServer(wait_for={0: (out, "t-5")}) as srv:
        seen = [r.id for r in run_batch(read_tasks(task_lines(8)), factory(srv), "ray",
                                        out=out, cpus_per_task=0.5)]
    rows = {r["id"]: r for r in read_results(out)}
    assert {tid: (r["status"], r["answer"]) for tid, r in rows.items()} == {
        f"t-{i}": ("success", f"answer-{i}") for i in range(8)}
    assert seen.index("t-0") > seen.index("t-5")  # yielded as they finished
    node_ids = {r["node"].split("/")[1] for r in rows.values()}
    assert len(node_ids) == 2  # both nodes ran tasks
    assert all(not r["node"].endswith(f"/pid{os.getpid()}") for r in rows.values())


def test_the_job_budget_is_never_overshot_by_eight_concurrent_tasks(cluster: Any) -> None:
    lines = [json.dumps({**json.loads(line), "max_tokens": 3_000}) for line in task_lines(12)]
    with TaskServer(latency_s=0.05) as srv:
        results = list(run_batch(read_tasks(lines), factory(srv), "ray", concurrency=8,
                                 cpus_per_task=0.25, max_tokens=10_000))
    assert srv.tokens <= 10_000  # what the server served, from every worker together
    assert sum(r.tokens for r in results) == srv.tokens
    assert {r.status for r in results} == {"success", "skipped"} and len(results) == 12
    assert sum(r.status == "success" for r in results) >= 4
    assert all(srv.asked[int(r.id[2:])] == 0 for r in results if r.status == "skipped")


def test_a_task_whose_worker_process_is_killed_is_retried(cluster: Any,
                                                          tmp_path: Path) -> None:
    lines = task_lines(4, t1={"pid_dir": str(tmp_path)})
    with TaskServer(kill_once=1, pid_dir=tmp_path) as srv:
        results = {r.id: r for r in run_batch(read_tasks(lines), factory(srv), "ray",
                                              cpus_per_task=0.5, retries=2,
                                              max_tokens=100_000)}
    assert len(srv.killed) == 1  # the host killed the worker running t-1 mid-call
    victim = results["t-1"]
    assert (victim.status, victim.answer, victim.attempts) == ("success", "answer-1", 2)
    assert not victim.node.endswith(f"/pid{srv.killed[0]}")
    assert all(results[f"t-{i}"].answer == f"answer-{i}" for i in (0, 2, 3))


def test_a_poisoned_task_is_an_error_and_never_blocks_the_rest(cluster: Any) -> None:
    lines = task_lines(5, t2={"poison": "kill"}, t3={"poison": "raise"})
    with TaskServer() as srv:
        results = {r.id: r for r in run_batch(read_tasks(lines), factory(srv), "ray",
                                              cpus_per_task=0.5, retries=1)}
    killer, raiser = results["t-2"], results["t-3"]
    assert killer.status == "error" and killer.attempts == 2
    assert "worker failed on every attempt (2)" in (killer.error or "")
    assert raiser.status == "error" and "task t-3 is poisoned" in (raiser.error or "")
    assert all(results[f"t-{i}"].answer == f"answer-{i}" for i in (0, 1, 4))


def test_resume_after_the_driver_is_killed_mid_job(cluster: Any, tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("\n".join(task_lines(10)) + "\n")
    out = tmp_path / "results.jsonl"
    with TaskServer(slow={i: 0.5 for i in range(3, 10)}) as srv:
        cmd = [sys.executable, "-m", "rlm_toolkit.cli.main", "batch", str(tasks), "--out",
               str(out), "--model", "openai/test-model", "--base-url", srv.base_url,
               "--ray", cluster.address, "--cpus-per-task", "0.5", "--no-progress"]
        driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
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
    assert sorted(r["id"] for r in rows) == sorted(f"t-{i}" for i in range(10))
    assert all(r["answer"] == f"answer-{r['id'][2:]}" for r in rows)
    for tid in first:
        assert srv.asked[int(tid[2:])] == asked[int(tid[2:])]


def test_rlm_bench_run_ray_runs_each_pair_on_the_cluster(cluster: Any, tmp_path: Path) -> None:
    from rlm_toolkit.bench.runner import RESULTS_FILE
    from rlm_toolkit.cli.bench import main as bench_main
    from rlm_toolkit.testing.servers import OpenAIServer
    from tests.bench_suite.test_bench_e2e import model

    tasks_file = tmp_path / "tasks.jsonl"
    assert bench_main(["generate", "--task", "sniah", "--tokens", "2048", "--count", "2",
                       "--out", str(tasks_file)]) == 0
    out = tmp_path / "res"
    argv = ["run", "--model", "openai/test-model", "--methods", "rlm1,direct",
            "--tasks-file", str(tasks_file), "--window", "4096", "--max-iterations", "3",
            "--no-progress", "--out", str(out), "--ray", cluster.address,
            "--cpus-per-task", "0.5"]
    with OpenAIServer(lambda body: model(body["messages"])) as server:
        assert bench_main([*argv, "--base-url", server.base_url]) == 0
        served = len(server.requests)
        assert bench_main([*argv, "--base-url", server.base_url]) == 0
        assert len(server.requests) == served  # resumed: nothing rerun
    recs = [json.loads(x) for x in (out / RESULTS_FILE).read_text().splitlines()]
    assert len(recs) == 4
    assert all(r["score"] == 1.0 for r in recs), [(r["method"], r["answer"]) for r in recs]
    assert all(not r["node"].endswith(f"/pid{os.getpid()}") for r in recs)  # on Ray workers
