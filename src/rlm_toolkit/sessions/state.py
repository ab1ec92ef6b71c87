"""Reading and writing the JSON-able variables of a session's REPL.

The worker runs short code of ours: one step prints the variables that JSON can hold (not the
REPL's own names, modules, functions or classes) behind a marker; another sets them again.
"""

from __future__ import annotations

import json
from typing import Any

MARKER = "<<rlm-session-state>>"

DUMP_CODE = f"""
def __rlm_state__():
    import json as _json, types as _types
    skip = {{"context", "llm", "llm_query", "llm_batch", "rlm_query", "rlm_batch", "FINAL",
            "FINAL_VAR", "SHOW_VARS", "split_document", "grep", "NOT_FOUND", "solve",
            "ToolError", "answer"}}
    kept = {{}}
    for name, value in list(globals().items()):
        if name.startswith("_") or name in skip or isinstance(
                value, (_types.ModuleType, _types.FunctionType, _types.BuiltinFunctionType,
                        type)):
            continue
        try:
            _json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            continue
        kept[name] = value
    return _json.dumps(kept, allow_nan=False)
print({MARKER!r} + __rlm_state__())
del __rlm_state__
"""


def restore_code(variables: dict[str, Any]) -> str:
    """Code that sets `variables` in the REPL (read back from JSON inside the worker)."""
    text = json.dumps(variables, allow_nan=False)
    return f"globals().update(__import__('json').loads({text!r}))"


def parse_dump(stdout: str) -> dict[str, Any] | None:
    """The variables printed by DUMP_CODE, or None when the output is not whole."""
    at = stdout.rfind(MARKER)
    if at < 0:
        return None
    try:
        value = json.loads(stdout[at + len(MARKER):].strip())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
