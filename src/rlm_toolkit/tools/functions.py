"""Tools from the user's own Python functions, described from their signatures and docstrings."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
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
        result = await in_thread(fn, args, kwargs)
        if inspect.isawaitable(result):
            return await result
        return result

    async def close(self) -> None:
        """Nothing to release."""


async def in_thread(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    """`fn(*args, **kwargs)` in a daemon thread of its own.

    A call the run gives up on (the step limit) is abandoned, and a daemon thread keeps
    neither the run nor the interpreter waiting for it, as the loop's shared pool would.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            future.set_result(value) if ok else future.set_exception(value)

    def work() -> None:
        try:
            outcome: tuple[bool, Any] = (True, fn(*args, **kwargs))
        except BaseException as exc:  # goes to the awaiting call, whatever it is
            outcome = (False, exc)
        # RuntimeError: the run is over and its loop closed; nobody is waiting.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="rlm-tool", daemon=True).start()
    return await future


def spec_of(name: str, fn: Callable[..., Any]) -> ToolSpec:
    """The spec of a function: its signature (annotations as written) and its docstring."""
    try:
        signature = str(inspect.signature(fn, eval_str=True)).replace("typing.", "")
    except Exception:  # a string annotation that does not evaluate: shown as written
        try:
            signature = str(inspect.signature(fn))
        except (TypeError, ValueError):
            signature = "(*args, **kwargs)"
    parameters: dict[str, Any] = {}
    try:
        from pydantic import TypeAdapter

        hints = {p.name: (p.annotation if p.annotation is not inspect.Parameter.empty else Any)
                 for p in inspect.signature(fn, eval_str=True).parameters.values()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        parameters = {"type": "object", "properties": {
            k: TypeAdapter(v).json_schema() for k, v in hints.items()}}
    except Exception:  # an annotation pydantic cannot describe: the signature still says it
        parameters = {}
    return ToolSpec(name, inspect.getdoc(fn) or "", signature, parameters)
