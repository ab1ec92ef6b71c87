"""All of a run's tools in one place: started together, called by name, closed together."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import ToolError
from .base import ToolSource, ToolSpec
from .functions import FunctionTools

#: What `RLM(tools=...)` takes: a dict of functions, an MCPServer, or a list of those.
ToolsSpec = (Mapping[str, Callable[..., Any]] | ToolSource
             | Sequence[Mapping[str, Callable[..., Any]] | ToolSource])


class ToolBox:
    """The tools of one RLM: `start` once per run, `call(name, ...)`, `close` after."""

    def __init__(self, spec: ToolsSpec) -> None:
        items: list[Any] = list(spec) if isinstance(spec, (list, tuple)) else [spec]
        self.sources: list[ToolSource] = []
        for item in items:
            if isinstance(item, Mapping):
                self.sources.append(FunctionTools(item))
            elif all(hasattr(item, m) for m in ("start", "call", "close")):
                self.sources.append(item)
            else:
                raise ToolError(f"tools must be a dict of functions, an MCPServer or a list of "
                                f"them, got {type(item).__name__}")
        self.specs: list[ToolSpec] = []
        self._owner: dict[str, ToolSource] = {}

    async def start(self) -> list[ToolSpec]:
        """Start every source; a name given twice is refused."""
        self.specs, self._owner = [], {}
        try:
            for source in self.sources:
                for spec in await source.start():
                    if spec.name in self._owner:
                        raise ToolError(f"two tools are named {spec.name!r}: rename one")
                    self._owner[spec.name] = source
                    self.specs.append(spec)
        except BaseException:
            await self.close()
            raise
        return self.specs

    async def call(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call tool `name`; an unknown name raises ToolError."""
        source = self._owner.get(name)
        if source is None:
            raise ToolError(f"no tool named {name!r}; the tools are: "
                            f"{', '.join(self._owner) or 'none'}")
        return await source.call(name, args, kwargs)

    async def close(self) -> None:
        for source in self.sources:
            try:
                await source.close()
            except Exception:  # one server failing to stop does not keep the others running
                continue
