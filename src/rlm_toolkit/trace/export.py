"""Export a trace as JSONL.

The file is a superset of the reference RLM logger's format: a `metadata` line, then one
`iteration` line per root iteration (prompt, response, code_blocks with results and rlm_calls,
final_answer, iteration_time). Each line also carries our full span subtree under `spans`, and
a last `result` line holds the run's outcome.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from typing import Any, Protocol

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


def save_jsonl(trace: TraceLike, path: str | os.PathLike[str]) -> None:
    """Write `trace` to `path` atomically: the whole file or, on any error, nothing."""
    meta = {"type": "metadata", "timestamp": _iso(trace.root.start if trace.root else None)}
    meta.update(trace.metadata)
    lines = [meta]
    lines += [iteration_line(i, s) for i, s in enumerate(trace.iterations(), 1)]
    if trace.root is not None:
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
    """Read a saved trace back as a list of JSON lines."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
