"""Tools from the user's own Python functions, described from their signatures and docstrings."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ToolError
from .base import ToolSpec, check_name


class FunctionTools:
    """`{"lookup": fn, ...}` as tools. Sync functions run in a thread; async ones are awaited."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        self.functions: dict[str, Callable[..., Any]] = {}
        for name, fn in functions.items():
            if not callable(fn):
                raise ToolError(f"tool {name!r} is not callable: give a function, got "
                                f"{type(fn).__name__}")
            self.functions[check_name(name)] = fn

    async def start(self) -> list[ToolSpec]:
        return [spec_of(name, fn) for name, fn in self.functions.items()]

    async def call(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        fn = self.functions[name]
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        result = await asyncio.to_thread(fn, *args, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result

    async def close(self) -> None:
        """Nothing to release."""


def spec_of(name: str, fn: Callable[..., Any]) -> ToolSpec:
    """The spec of a function: its signature (annotations as written) and its docstring."""
    try:
        signature = str(inspect.signature(fn))
    except (TypeError, ValueError):
        signature = "(*args, **kwargs)"
    parameters: dict[str, Any] = {}
    try:
        from pydantic import TypeAdapter

        hints = {p.name: (p.annotation if p.annotation is not inspect.Parameter.empty else Any)
                 for p in inspect.signature(fn).parameters.values()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        parameters = {"type": "object", "properties": {
            k: TypeAdapter(v).json_schema() for k, v in hints.items()}}
    except Exception:  # an annotation pydantic cannot describe: the signature still says it
        parameters = {}
    return ToolSpec(name, inspect.getdoc(fn) or "", signature, parameters)
