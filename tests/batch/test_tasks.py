"""The tasks file: every bad line is named by its number, and the good ones still parse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlm_toolkit.batch import BatchTask, InputProblem, load_tasks, read_tasks
from rlm_toolkit.errors import ConfigError


def test_malformed_lines_are_named_by_number_and_the_rest_parse() -> None:
    lines = [
        json.dumps({"id": "a", "query": "q", "context": "x"}),
        "{not json",
        "",
        json.dumps({"id": "b", "context": "x"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "c", "query": "q", "context": "x", "context_path": "f"}),
        json.dumps({"id": "d", "query": "q", "context": "x", "colour": "red"}),
        json.dumps({"id": "e", "query": "q", "context": "x", "max_tokens": -3}),
        json.dumps({"id": 7, "query": "q", "context": "x", "max_iterations": 3}),
    ]
    items = list(read_tasks(lines))
    tasks = [i for i in items if isinstance(i, BatchTask)]
    problems = {i.line: str(i) for i in items if isinstance(i, InputProblem)}
    assert [t.id for t in tasks] == ["a", "7"]
    assert tasks[1].limits == {"max_iterations": 3} and tasks[1].line == 9
    assert problems[2].startswith("line 2: not valid JSON")
    assert "task 'b' has no query" in problems[4]
    assert "must be a JSON object, got list" in problems[5]
    assert "exactly one of \"context\"" in problems[6]
    assert "unknown field(s) colour" in problems[7]
    assert "\"max_tokens\" must be a positive number" in problems[8]
    assert set(problems) == {2, 4, 5, 6, 7, 8}


def test_a_missing_context_path_is_named_with_where_it_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / "here.txt").write_text("present")
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.txt").write_text("beta")
    tasks_file = tmp_path / "tasks.jsonl"
    tasks_file.write_text("\n".join(json.dumps(r) for r in [
        {"id": "ok", "query": "q", "context_path": "here.txt"},
        {"id": "gone", "query": "q", "context_path": "missing/nowhere.txt"},
        {"id": "dir", "query": "q", "context_path": "docs"},
    ]) + "\n")
    items = list(load_tasks(tasks_file))
    ok, gone, folder_task = items
    assert isinstance(ok, BatchTask) and ok.load_context() == "present"
    assert isinstance(gone, InputProblem) and gone.line == 2 and gone.id == "gone"
    assert "context_path 'missing/nowhere.txt' not found" in str(gone)
    assert str(tmp_path / "missing" / "nowhere.txt") in str(gone)
    assert isinstance(folder_task, BatchTask)
    assert folder_task.load_context() == {"a.txt": "alpha", "sub/b.txt": "beta"}


def test_duplicate_ids_name_the_first_line() -> None:
    lines = [json.dumps({"id": i, "query": "q", "context": "x"}) for i in ("a", "b", "a", "a")]
    items = list(read_tasks(lines))
    assert [i.id for i in items if isinstance(i, BatchTask)] == ["a", "b"]
    dups = [i for i in items if isinstance(i, InputProblem)]
    assert [(d.line, d.id) for d in dups] == [(3, "a"), (4, "a")]
    assert "duplicate id 'a' (first on line 1)" in str(dups[0])


def test_a_missing_tasks_file_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tasks file .* not found"):
        load_tasks(tmp_path / "none.jsonl")
