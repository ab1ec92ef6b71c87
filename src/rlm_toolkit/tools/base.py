"""What a tool is to the engine: a name, a description, its parameters, and a call."""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import ToolError


@dataclass(frozen=True)
class ToolSpec:
    """One tool as the model is told about it: `name(signature)` and what it does."""

    name: str
    description: str = ""
    signature: str = "(**kwargs)"
    parameters: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One prompt line: `name(signature) -- description` (the first line of it)."""
        first = self.description.strip().splitlines()[0] if self.description.strip() else ""
        return f"{self.name}{self.signature}" + (f" -- {first[:200]}" if first else "")


class ToolSource(Protocol):
    """A set of tools: function tools or an MCP server."""

    async def start(self) -> list[ToolSpec]:
        """Make the tools ready; return their specs."""
        ...

    async def call(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call tool `name`; return a JSON-able result or raise (the model sees the error)."""
        ...

    async def close(self) -> None:
        """Release what `start` took."""
        ...


def check_name(name: object) -> str:
    """A tool name usable in model code, else ToolError."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
            or name.startswith("_"):
        raise ToolError(f"tool name {name!r} is not a Python identifier: name tools like "
                        "`lookup_user` so model code can call them")
    return name
