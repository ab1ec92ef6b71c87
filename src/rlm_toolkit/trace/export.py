"""Export a trace as JSONL.

The file is a superset of the reference RLM logger's format: a `metadata` line, then one
`iteration` line per root iteration (prompt, response, code_blocks with results and rlm_calls,
final_answer, iteration_time). Each line also carries our full span subtree under `spans`; a
`credit` line holds the credit assignment (`credit.CreditReport.to_dict`), and a last `result`
line holds the run's outcome.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from collections.abc import Iterator
from typing import Any, Protocol

from ..errors import ConfigError
from .credit import credit_report
from .spans import Span


class TraceLike(Protocol):
    """What the exporter reads of a trace (see `tree.Trace`)."""

    metadata: dict[str, Any]
    root: Span | None

    def iterations(self) -> list[Span]: ...


def _iso(ts: float | None) -> str | None:
    return _dt.datetime.fromtimestamp(ts).isoformat() if ts else None


def _rlm_call(span: Span) -> dict[str, Any]:
    a = span.attrs
    return {
        "root_model": a.get("model"),
        "prompt": a.get("prompt"),
        "response": a.get("response"),
        "usage_summary": a.get("usage", {}),
        "execution_time": round(span.duration_s, 6),
        "kind": span.kind,
        "error": span.error,
    }


def _code_block(span: Span) -> dict[str, Any]:
    a = span.attrs
    calls = [s for s in span.walk() if s.kind in ("llm", "child_run") and s is not span]
    return {
        "code": a.get("code", ""),
        "result": {
            "stdout": a.get("stdout", ""),
            "stderr": a.get("stderr", ""),
            "locals": a.get("locals", {}),
            "execution_time": round(span.duration_s, 6),
            "rlm_calls": [_rlm_call(c) for c in calls],
        },
    }


def iteration_line(n: int, span: Span) -> dict[str, Any]:
    """One reference-format iteration line for an iteration span."""
    a = span.attrs
    return {
        "type": "iteration",
        "iteration": n,
        "timestamp": _iso(span.start),
        "prompt": a.get("prompt", []),
        "response": a.get("response", ""),
        "code_blocks": [_code_block(c) for c in span.children if c.kind == "code"],
        "final_answer": a.get("final_answer"),
        "iteration_time": round(span.duration_s, 6),
        "spans": span.to_dict(),
    }


def _credit_line(trace: TraceLike) -> dict[str, Any]:
    """The credit assignment as a line; a trace it cannot read is still saved, saying why."""
    try:
        return {"type": "credit", **credit_report(trace).to_dict()}
    except Exception as exc:  # the spans matter more than their credit
        return {"type": "credit", "error": f"credit not computed: {type(exc).__name__}: {exc}"}


def save_jsonl(trace: TraceLike, path: str | os.PathLike[str]) -> None:
    """Write `trace` to `path` atomically: the whole file or, on any error, nothing."""
    meta = {"type": "metadata", "timestamp": _iso(trace.root.start if trace.root else None)}
    meta.update(trace.metadata)
    lines = [meta]
    lines += [iteration_line(i, s) for i, s in enumerate(trace.iterations(), 1)]
    if trace.root is not None:
        lines.append(_credit_line(trace))
        outcome = {k: v for k, v in trace.root.attrs.items() if k not in ("query",)}
        lines.append({"type": "result", "error": trace.root.error, **outcome})
    tmp = f"{os.fspath(path)}.tmp"
    try:
        # A lone surrogate (which UTF-8 cannot hold) is written as its JSON escape \udXXX,
        # which reads back as the same string.
        with open(tmp, "w", encoding="utf-8", errors="backslashreplace") as fh:
            for line in lines:
                fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a saved trace back as a list of JSON lines.

    A file that is missing, cut off or hand-edited into something else raises `ConfigError`
    with one line naming the file, the line and what is wrong with it.
    """
    return [obj for _, obj in iter_jsonl(path)]


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a saved trace; see `load_jsonl`."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ConfigError(f"trace file {name!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"trace file {name!r} is a folder: give the .jsonl file") from None
    except OSError as exc:
        raise ConfigError(f"trace file {name!r} cannot be read: {exc.strerror or exc}") from None
    raw_lines = data.split(b"\n")
    last = len(raw_lines) - (1 if raw_lines[-1] == b"" else 0)
    if not data.strip():
        raise ConfigError(f"trace file {name!r} is empty: it holds no trace")
    for n, raw in enumerate(raw_lines[:last], 1):
        if not raw.strip():
            continue
        where = f"trace file {name!r}, line {n}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{where} is not UTF-8 text (byte {exc.start + 1}); "
                              "is this a trace saved by rlm_toolkit?") from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            if n == last and not data.endswith(b"\n"):
                raise ConfigError(f"{where} is cut off (the file ends mid-line at column "
                                  f"{exc.colno}): the trace was not saved whole") from None
            raise ConfigError(f"{where} is not valid JSON ({exc.msg} at column {exc.colno}); "
                              "was the file edited by hand?") from None
        if not isinstance(obj, dict):
            raise ConfigError(f"{where} is a JSON {type(obj).__name__}, not an object; "
                              "a trace holds one JSON object a line") from None
        yield n, obj
