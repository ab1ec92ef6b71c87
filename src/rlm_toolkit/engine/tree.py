"""State shared by every run in one tree (the top-level run and its children).

Created per top-level call, never global: two runs in one process share nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..providers.base import Completion, CompletionOptions, Message, Provider
from ..trace import Trace
from .budget import Budget
from .config import RLMConfig
from .events import Event, EventHandler, EventKind
from .ports import Memory, Verifier

if TYPE_CHECKING:
    from ..tools import ToolBox, ToolSpec
    from .kept import KeptRepl


@dataclass
class RunTree:
    """Budget, trace, concurrency limit, sub-call de-duplication and deadline of one tree."""

    config: RLMConfig
    root: Provider
    sub: Provider
    budget: Budget
    trace: Trace
    on_event: EventHandler | None = None
    deadline: float | None = None
    llm_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))
    inflight: dict[str, asyncio.Future[Completion]] = field(default_factory=dict)
    memory: Memory | None = None
    verifier: Verifier | None = None  # judges final answers when config.verify
    judge: Provider | None = None  # the model the verifier asks (default: sub)
    goal: str = ""  # the user's query, carried into sub-calls and child runs (pin_goal)
    tools: ToolBox | None = None  # host tools model code may call, started for this run
    tool_specs: list[ToolSpec] = field(default_factory=list)
    kept: KeptRepl | None = None  # a session's REPL, kept open between top-level runs

    @classmethod
    def create(cls, config: RLMConfig, root: Provider, sub: Provider, *,
               on_event: EventHandler | None = None, memory: Memory | None = None,
               verifier: Verifier | None = None, judge: Provider | None = None) -> RunTree:
        """A fresh tree: an empty budget and trace, the deadline counted from now."""
        budget = Budget(config.max_tokens, config.max_cost, config.max_subcalls)
        deadline = time.monotonic() + config.timeout_s if config.timeout_s else None
        tree = cls(config, root, sub, budget, Trace(), on_event=on_event, deadline=deadline,
                   memory=memory, verifier=verifier, judge=judge)
        tree.llm_slots = asyncio.Semaphore(config.concurrency)
        return tree

    def emit(self, kind: EventKind, depth: int, iteration: int = 0, **data: Any) -> None:
        """Send an event to the run's handler, if it has one."""
        if self.on_event is not None:
            self.on_event(Event(kind, depth, iteration, data))

    def time_left(self) -> float | None:
        """Seconds to the tree's deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    async def sub_complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        """A sub-call: identical concurrent or repeated requests in one tree are made once."""
        key = repr((messages, options.temperature, options.max_tokens, options.json_schema))
        existing = self.inflight.get(key)
        if existing is not None:
            done = await asyncio.shield(existing)
            return Completion(done.text, type(done.usage)(), done.model, done.finish_reason, 0.0)
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self.inflight[key] = future
        try:
            async with self.llm_slots:
                completion = await self.sub.complete(messages, options)
        except BaseException as exc:
            del self.inflight[key]
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # waiters re-raise it; mark it retrieved for asyncio
            else:
                future.cancel()
            raise
        future.set_result(completion)
        return completion

