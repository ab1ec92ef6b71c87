"""Structured sub-call results, host-tool stubs and `solve`, as model code sees them.

Standard library only. The host checks every schema'd reply; here it becomes a `Record` (a
dict whose keys read as attributes: `r.summary`). Tool stubs send their JSON arguments to
the host, where the tool runs; the jail never holds the tool itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

#: At most this many characters of the results so far go into each step of `solve`.
SOLVE_NOTES_CHARS = 6_000
_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", None: "null",
                          dict: "object", list: "array", type(None): "null"}
_SCHEMA_WORDS = ("type", "properties", "$schema", "items", "anyOf", "oneOf", "enum", "$ref")


class ToolError(Exception):
    """A host tool failed, or was called wrongly; the message says which and why."""


class Record(dict[str, Any]):
    """A checked JSON object: `r["summary"]` and `r.summary` both read a field."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no field {name!r}; the fields are: "
                                 f"{', '.join(map(str, self)) or 'none'}") from None

    def __str__(self) -> str:
        return json.dumps(self, ensure_ascii=False)


def as_record(value: Any) -> Any:
    """JSON data with every object made a Record (nested ones too)."""
    if isinstance(value, dict):
        return Record({k: as_record(v) for k, v in value.items()})
    if isinstance(value, list):
        return [as_record(v) for v in value]
    return value


def json_schema(schema: Any) -> dict[str, Any]:
    """A JSON schema from a JSON schema dict or a short form: {"summary": str, "tags": [str]}."""
    if isinstance(schema, dict) and any(isinstance(schema.get(w), (str, dict, list))
                                        for w in _SCHEMA_WORDS):
        return schema
    return _short(schema)


def _short(spec: Any) -> dict[str, Any]:
    if (isinstance(spec, type) or spec is None) and spec in _TYPES:
        return {"type": _TYPES[spec]}
    if isinstance(spec, list) and len(spec) == 1:
        return {"type": "array", "items": _short(spec[0])}
    if isinstance(spec, dict) and spec:
        return {"type": "object", "properties": {str(k): _short(v) for k, v in spec.items()},
                "required": [str(k) for k in spec]}
    raise TypeError(f"schema: cannot read {spec!r}; give a JSON schema dict or fields and "
                    "types, e.g. {'summary': str, 'year': int, 'tags': [str]}")


def check_json_args(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise ToolError when a tool's arguments are not plain JSON data."""
    try:
        json.dumps([list(args), kwargs], allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"{name}(): the arguments must be JSON data (str, int, float, bool, "
                        f"None, list, dict): {exc}") from None


class ToolStub:
    """Model code calls this by the tool's name; the tool itself runs on the host."""

    def __init__(self, name: str, call_host: Callable[[str, dict[str, Any]], Any]) -> None:
        self.name = name
        self._call = call_host

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        check_json_args(self.name, args, kwargs)
        reply = self._call("tool", {"name": self.name, "args": list(args), "kwargs": kwargs})
        if isinstance(reply, dict) and "error" in reply:
            raise ToolError(str(reply["error"]))
        if isinstance(reply, dict) and "value" in reply:
            return as_record(reply["value"])
        raise ToolError(f"{self.name}(): the host sent a reply of the wrong shape")

    def __repr__(self) -> str:
        return f"<tool {self.name}: runs outside the REPL>"


PLAN_PROMPT = (
    "Plan how to reach the goal below in 2 to 6 short steps. Each step is an instruction a "
    "helper can carry out knowing only the goal and the results of the earlier steps.\n"
    "Goal: {goal}"
)
STEP_PROMPT = (
    "Goal: {goal}\n\nResults so far:\n{notes}\n\nYour step ({i} of {n}): {step}\n"
    "Carry out this step only. `result`: what you found or worked out; `summary`: it in one "
    "short sentence."
)
SYNTH_PROMPT = (
    "Goal: {goal}\n\nResults of the steps:\n{notes}\n\nUsing these results, give the final "
    "answer to the goal."
)


def solve(llm: Callable[..., Any], goal: Any, steps: list[Any] | None = None) -> str:
    """Plan (unless `steps` are given), run each step as a fresh sub-call carrying the goal and
    the results so far in summary form, then synthesise. Each call is a span in the trace."""
    goal = str(goal)
    if steps is None:
        plan = llm(PLAN_PROMPT.format(goal=goal), schema={"steps": [str]}, label="solve: plan")
        steps = list(plan.steps)
    if not steps:
        raise ValueError("solve: the plan has no steps; pass steps=[...] yourself")
    notes: list[str] = []
    results: list[str] = []
    for i, step in enumerate(steps, 1):
        seen = "\n".join(notes)[-SOLVE_NOTES_CHARS:] or "(none yet)"
        reply = llm(STEP_PROMPT.format(goal=goal, notes=seen, i=i, n=len(steps), step=step),
                    schema={"result": str, "summary": str},
                    label=f"solve step {i}: {str(step)[:80]}")
        notes.append(f"{i}. {step} -> {reply.summary}")
        results.append(f"{i}. {step}\n{reply.result}")
    text = "\n\n".join(results)[-SOLVE_NOTES_CHARS * 2:]
    return str(llm(SYNTH_PROMPT.format(goal=goal, notes=text), label="solve: synthesis"))
