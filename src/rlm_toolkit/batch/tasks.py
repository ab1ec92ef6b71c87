"""The tasks file: one JSON object a line, each with `id`, `query` and `context` or `context_path`.

A bad line never stops the job: it becomes an `InputProblem` naming its line number, and the
other tasks still run. A context path is checked when the file is read (before any call).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: per-task settings a line may carry besides id, query and context.
TASK_LIMITS = ("max_tokens", "max_cost", "max_iterations", "timeout_s", "max_depth")
KNOWN_KEYS = frozenset({"id", "query", "context", "context_path", "model", "sub_model",
                        "base_url", "meta", *TASK_LIMITS})


@dataclass(frozen=True)
class BatchTask:
    """One RLM run of a batch. `limits` holds per-task RLMConfig fields (max_tokens, ...)."""

    id: str
    query: str
    context: str | None = None
    context_path: str | None = None
    model: str | None = None
    sub_model: str | None = None
    base_url: str | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    def load_context(self) -> str | bytes | dict[str, Any]:
        """The context: the text, a file's text (or bytes), or a folder as {relative path: text}."""
        if self.context is not None:
            return self.context
        assert self.context_path is not None
        path = Path(self.context_path)
        if path.is_dir():
            return {str(p.relative_to(path)): _read(p) for p in sorted(path.rglob("*"))
                    if p.is_file()}
        return _read(path)


def _read(path: Path) -> str | bytes:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


@dataclass(frozen=True)
class InputProblem:
    """A task line that cannot run: its line number, its id when it had one, and why."""

    line: int
    message: str
    id: str | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def parse_task(obj: Any, line: int, base: Path | None = None) -> BatchTask:
    """One task from a decoded line; ConfigError naming the field when it is wrong."""
    if not isinstance(obj, dict):
        raise ConfigError(f"a task must be a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"unknown field(s) {', '.join(unknown)}; a task has id, query, "
                          f"context or context_path, and optionally model, sub_model, "
                          f"base_url, meta, {', '.join(TASK_LIMITS)}")
    tid = obj.get("id")
    if isinstance(tid, int) and not isinstance(tid, bool):
        tid = str(tid)
    if not isinstance(tid, str) or not tid.strip():
        raise ConfigError("the task has no id: give each line a unique string \"id\"")
    query = obj.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ConfigError(f"task {tid!r} has no query: give a non-empty string \"query\"")
    has_text, has_path = "context" in obj, "context_path" in obj
    if has_text == has_path:
        raise ConfigError(f"task {tid!r} needs exactly one of \"context\" (text) or "
                          "\"context_path\" (a file or folder)")
    context, context_path = obj.get("context"), obj.get("context_path")
    if has_text and not isinstance(context, str):
        raise ConfigError(f"task {tid!r}: \"context\" must be a string (use context_path "
                          "for a file)")
    if has_path:
        if not isinstance(context_path, str) or not context_path:
            raise ConfigError(f"task {tid!r}: \"context_path\" must be a path string")
        path = Path(context_path)
        if base is not None and not path.is_absolute():
            path = base / path
        if not path.exists():
            raise ConfigError(f"task {tid!r}: context_path {context_path!r} not found "
                              f"(looked at {str(path)!r}); fix the path or remove the task")
        context_path = str(path)
    for key in ("model", "sub_model", "base_url"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise ConfigError(f"task {tid!r}: \"{key}\" must be a string")
    meta = obj.get("meta") or {}
    if not isinstance(meta, dict):
        raise ConfigError(f"task {tid!r}: \"meta\" must be an object")
    limits = {k: obj[k] for k in TASK_LIMITS if obj.get(k) is not None}
    for key, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"task {tid!r}: \"{key}\" must be a positive number")
    return BatchTask(id=tid, query=query, context=context if has_text else None,
                     context_path=context_path if has_path else None, model=obj.get("model"),
                     sub_model=obj.get("sub_model"), base_url=obj.get("base_url"),
                     limits=limits, meta=meta, line=line)


def read_tasks(lines: Iterable[str], base: Path | None = None
               ) -> Iterator[BatchTask | InputProblem]:
    """Tasks in file order; a malformed line, a missing context path or a repeated id yields
    an `InputProblem` naming the line instead (blank lines are skipped)."""
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield InputProblem(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            task = parse_task(obj, number, base)
        except ConfigError as exc:
            tid = obj.get("id") if isinstance(obj, dict) else None
            yield InputProblem(number, str(exc), str(tid) if tid is not None else None)
            continue
        if task.id in seen:
            yield InputProblem(number, f"duplicate id {task.id!r} (first on line "
                                       f"{seen[task.id]}); give each task its own id", task.id)
            continue
        seen[task.id] = number
        yield task


def load_tasks(path: str | Path) -> Iterator[BatchTask | InputProblem]:
    """Read a tasks file lazily; relative context paths are taken from the file's folder."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"tasks file {str(p)!r} not found: give a JSONL file, one task a line")

    def lines() -> Iterator[str]:
        with p.open(encoding="utf-8", errors="replace") as fh:
            yield from fh

    return read_tasks(lines(), base=p.parent)
