"""Run methods over tasks: one JSONL line per (task, method), resumable, with a progress bar;
then the summary (JSON and markdown) and the plot."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from ..errors import ConfigError
from .generate import generate
from .methods import Method, MethodOutput
from .plot import MISSING_HINT, plot_summary
from .scoring import score_answer
from .stats import SummaryRow, markdown_table, summarize
from .task import Task

RESULTS_FILE = "results.jsonl"


@dataclass(frozen=True)
class TaskSpec:
    """A task not generated yet: generating it is skipped when every method already ran."""

    kind: str
    tokens: int
    seed: int

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.tokens}-s{self.seed}"

    def make(self) -> Task:
        return generate(self.kind, self.tokens, self.seed)


def load_results(path: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Results by (task id, method); a later line for the same pair replaces an earlier one.

    A torn last line (an interrupted write) is ignored.
    """
    out: dict[tuple[str, str], dict[str, Any]] = {}
    p = Path(path)
    if not p.exists():
        return out
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "task_id" in rec and "method" in rec:
                out[rec["task_id"], rec["method"]] = rec
    return out


MODEL_KEYS = ("model", "sub_model")


def _check_same_models(records: Iterable[dict[str, Any]], meta: dict[str, Any],
                       path: Path) -> None:
    """Refuse to mix results of different models in one file."""
    for rec in records:
        for key in MODEL_KEYS:
            if key in meta and key in rec and rec[key] != meta[key]:
                raise ConfigError(
                    f"{path} holds results for {key.replace('_', ' ')} {rec[key]!r}, not "
                    f"{meta[key]!r}; write these results to another --out folder"
                )


def models_line(records: Sequence[dict[str, Any]]) -> str:
    """ "root model: X; sub model: Y" from the records, or "" when they do not say."""
    parts = []
    for key, title in zip(MODEL_KEYS, ("root model", "sub model"), strict=True):
        names = sorted({str(r[key]) for r in records if r.get(key)})
        if names:
            parts.append(f"{title}: {', '.join(names)}")
    return "; ".join(parts)


def _end_torn_line(path: Path) -> None:
    """End a last line cut short by an interrupted write, so appends start on a fresh line."""
    if path.exists() and path.stat().st_size:
        with path.open("rb") as fh:
            fh.seek(-1, 2)
            torn = fh.read(1) != b"\n"
        if torn:
            with path.open("a", encoding="utf-8") as fh:
                fh.write("\n")


def record(task: Task, method: str, out: MethodOutput | None, wall_s: float,
           error: str | None = None) -> dict[str, Any]:
    """The JSONL line for one (task, method) run, scored."""
    answer = out.answer if out is not None else ""
    try:
        scored = score_answer(answer, task.answer_type, task.gold, choices=task.choices,
                              symmetric=task.symmetric)
        score, details = scored.score, scored.details
    except Exception as exc:  # the record is kept, scored 0, saying why
        score, details = 0.0, {}
        error = error or f"scoring failed: {type(exc).__name__}: {exc}"
    rec: dict[str, Any] = {
        "task_id": task.id, "kind": task.kind, "tokens": task.tokens, "seed": task.seed,
        "context_tokens": task.context_tokens, "method": method, "question": task.question,
        "gold": task.gold, "answer": answer, "score": score, "score_details": details,
        "status": "error" if error else (out.status if out else "error"),
        "error": error or (out.error if out is not None else None),
        "wall_s": round(wall_s, 3),
    }
    if out is not None:
        rec.update(
            input_tokens=out.input_tokens, output_tokens=out.output_tokens,
            total_tokens=out.input_tokens + out.output_tokens, cost=out.cost,
            iterations=out.iterations, subcalls=out.subcalls, **out.extra,
        )
    else:
        rec.update(input_tokens=0, output_tokens=0, total_tokens=0, cost=0.0, iterations=0,
                   subcalls=0)
    return rec


async def run_one(task: Task, method: Method) -> dict[str, Any]:
    """Run one method on one task; a failure becomes an "error" record scored 0."""
    start = time.perf_counter()
    try:
        out = await method.run(task)
    except Exception as exc:  # a failed run is a result too, not a crash of the bench
        return record(task, method.name, None, time.perf_counter() - start,
                      error=f"{type(exc).__name__}: {exc}")
    return record(task, method.name, out, time.perf_counter() - start)


def _progress(console: Console | None, enabled: bool) -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TextColumn("cost {task.fields[cost]}"),
        TextColumn("score {task.fields[score]}"), TimeElapsedColumn(),
        console=console, disable=not enabled, transient=False,
    )


async def run_bench(
    tasks: Iterable[Task | TaskSpec], methods: Sequence[Method], results_path: str | Path, *,
    concurrency: int = 1, retry_errors: bool = False, progress: bool = True,
    total: int | None = None, console: Console | None = None,
    meta: dict[str, Any] | None = None,
    run: Callable[[Task, Method], Awaitable[dict[str, Any]]] = run_one,
) -> list[dict[str, Any]]:
    """Run every method on every task, appending to `results_path`; return all its records.

    Pairs already in the file are skipped (so an interrupted run resumes), except error
    records when `retry_errors` is set. Up to `concurrency` runs go at once. `meta` (such as
    the model names) is written into every record; resuming a file written with other
    models is refused. `run` runs one pair (default here; `rlm bench run --ray` passes one
    that runs it as a Ray task).
    """
    path = Path(results_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = load_results(path)
    meta = dict(meta or {})
    _check_same_models(done.values(), meta, path)
    _end_torn_line(path)

    def finished(task_id: str, name: str) -> bool:
        rec = done.get((task_id, name))
        return rec is not None and not (retry_errors and rec.get("status") == "error")

    if total is None and isinstance(tasks, Sequence):
        total = len(tasks) * len(methods)
    gate = asyncio.Semaphore(max(1, concurrency))
    spent: list[float] = []
    unknown_cost = False
    scores: list[float] = []
    running: set[asyncio.Task[None]] = set()
    with _progress(console, progress) as bar, path.open("a", encoding="utf-8") as sink:
        job = bar.add_task("bench", total=total, cost="$0.0000", score="-")

        async def go(task: Task, method: Method) -> None:
            nonlocal unknown_cost
            try:
                rec = {**await run(task, method), **meta}
                sink.write(json.dumps(rec, ensure_ascii=False) + "\n")
                sink.flush()
                done[task.id, method.name] = rec
                scores.append(rec["score"])
                if rec.get("cost") is None:
                    unknown_cost = True
                else:
                    spent.append(float(rec["cost"]))
                bar.update(job, advance=1,
                           cost=f"${sum(spent):.4f}" + (" + unknown" if unknown_cost else ""),
                           score=f"{sum(scores) / len(scores):.3f}")
            finally:
                gate.release()

        try:
            for item in tasks:
                todo = [m for m in methods if not finished(item.id, m.name)]
                bar.update(job, advance=len(methods) - len(todo))
                if not todo:
                    continue
                # Generating a million-token task takes about a second: off the event loop.
                task = await asyncio.to_thread(item.make) if isinstance(item, TaskSpec) else item
                bar.update(job, description=f"bench {task.id}")
                for method in todo:
                    await gate.acquire()
                    running.add(asyncio.create_task(go(task, method)))
                    ended = {t for t in running if t.done()}
                    running -= ended
                    for t in ended:
                        t.result()  # a record that could not be written stops the bench
        finally:  # runs in flight finish (their records written) before the file closes
            outcomes = await asyncio.gather(*running, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        bar.update(job, description="bench done")
    return list(load_results(path).values())


def write_reports(records: Sequence[dict[str, Any]], out_dir: str | Path, *,
                  seed: int = 0) -> tuple[list[SummaryRow], list[str]]:
    """summary.json, summary.md and plot.png in `out_dir`; returns the rows and notes."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = summarize(records, seed=seed)
    models = models_line(records)
    (out / "summary.json").write_text(json.dumps(
        {"bootstrap_seed": seed, "models": models, "rows": [r.to_dict() for r in rows]},
        indent=2), encoding="utf-8")
    header = f"Models: {models}\n\n" if models else ""
    (out / "summary.md").write_text(header + markdown_table(rows), encoding="utf-8")
    notes = [f"wrote {out / 'summary.json'} and {out / 'summary.md'}"]
    if rows and plot_summary(rows, out / "plot.png", title=models):
        notes.append(f"wrote {out / 'plot.png'}")
    elif rows:
        notes.append(MISSING_HINT)
    return rows, notes
