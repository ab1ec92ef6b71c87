"""`run_bench` never loses a record silently: a scoring failure is recorded, a write failure stops
the bench with its error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rlm_toolkit.bench import load_results, run_bench
from rlm_toolkit.bench.methods import MethodOutput
from rlm_toolkit.bench.task import Task


def task(task_id: str, answer_type: str = "number") -> Task:
    return Task(task_id, "sniah", 100, 0, "ctx", "q?", "42", answer_type)


class Fixed:
    """A method answering "42"; `extra` per task id is put into its output."""

    name = "fixed"

    def __init__(self, extra: dict[str, dict[str, object]] | None = None) -> None:
        self.extra = extra or {}

    async def run(self, t: Task) -> MethodOutput:
        return MethodOutput("42", extra=dict(self.extra.get(t.id, {})))


def test_a_task_whose_scoring_fails_is_recorded_as_an_error(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    tasks = [task("bad", answer_type="no-such-type"), task("good")]
    asyncio.run(run_bench(tasks, [Fixed()], path, progress=False))
    records = load_results(path)
    bad = records["bad", "fixed"]
    assert bad["status"] == "error" and bad["score"] == 0.0
    assert "scoring failed" in bad["error"] and "no-such-type" in bad["error"]
    assert bad["answer"] == "42"
    assert records["good", "fixed"]["status"] == "ok"


def test_a_record_that_cannot_be_written_stops_the_bench(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    method = Fixed({"first": {"opaque": object()}})  # not JSON: the first record cannot be written
    with pytest.raises(TypeError, match="not JSON serializable"):
        asyncio.run(run_bench([task("first"), task("second")], [method], path, progress=False))
    records = load_results(path)
    assert ("first", "fixed") not in records
    assert records["second", "fixed"]["answer"] == "42"  # the run in flight still finished
