"""What the OpenAI-compatible server does with a checked request: route, run, remember.

Kept apart from HTTP (`app.py`) so it can be driven directly. One `Service` per server; no
state outside it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ..engine import RLM, Event, RLMConfig
from ..engine.result import RLMResult
from ..errors import ConfigError, RLMError
from ..providers.base import CompletionOptions, Usage
from ..sessions import Session
from .routing import DEFAULT_THRESHOLD, route
from .wire import ChatRequest, WireError

MODEL_NAME = "rlm"
DEFAULT_MAX_SESSIONS = 64


@dataclass
class ServeOptions:
    """How the server reaches its model and what it allows."""

    model: str
    sub_model: str | None = None
    base_url: str | None = None
    config: RLMConfig = field(default_factory=RLMConfig)
    threshold: int = DEFAULT_THRESHOLD
    api_key: str | None = None
    max_body_bytes: int = 64 * 1024 * 1024
    max_sessions: int = DEFAULT_MAX_SESSIONS


@dataclass
class Reply:
    """A finished answer: text, usage of the whole tree, finish reason, and RLM details."""

    text: str
    usage: Usage
    finish: str = "stop"
    extra: dict[str, Any] | None = None


def progress_line(event: Event) -> str | None:
    """A short line for a streamed run's progress (None: not shown)."""
    if event.kind == "iteration" and event.depth == 0:
        return f"[rlm] iteration {event.iteration}\n"
    if event.kind == "code" and event.depth == 0:
        first = str(event.data.get("code", "")).strip().splitlines()
        return f"[rlm] ran: {first[0][:100] if first else ''}\n"
    if event.kind == "subcall":
        return f"[rlm] sub-call (depth {event.depth})\n"
    if event.kind == "child_start":
        return f"[rlm] child run (depth {event.depth})\n"
    return None


class Service:
    """The models and sessions one server holds."""

    def __init__(self, options: ServeOptions, make_rlm: Callable[[str], RLM] | None = None
                 ) -> None:
        self.options = options
        self._make = make_rlm or self._default_rlm
        self._rlms: dict[str, RLM] = {}
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()  # sessions being closed (evicted)

    def _default_rlm(self, spec: str) -> RLM:
        opts = self.options
        return RLM(spec, opts.sub_model, opts.config, base_url=opts.base_url)

    def model_names(self) -> list[str]:
        return [MODEL_NAME, f"{MODEL_NAME}:{self.options.model}"]

    def rlm_for(self, name: str) -> RLM:
        """The RLM a request's model name selects ("rlm" or "rlm:PROVIDER/MODEL")."""
        if name == MODEL_NAME:
            spec = self.options.model
        elif name.startswith(f"{MODEL_NAME}:") and len(name) > len(MODEL_NAME) + 1:
            spec = name[len(MODEL_NAME) + 1:]
        else:
            raise WireError(404, f"the model {name!r} does not exist here: use \"rlm\" or "
                            f"\"rlm:PROVIDER/MODEL\"", param="model", code="model_not_found")
        if spec not in self._rlms:
            try:
                self._rlms[spec] = self._make(spec)
            except ConfigError as exc:
                raise WireError(400, str(exc), param="model") from None
        return self._rlms[spec]

    # --- answering --------------------------------------------------------------------
    async def answer(self, request: ChatRequest, session_id: str | None,
                     progress: Callable[[str], None] | None = None,
                     on_token: Callable[[str], None] | None = None) -> Reply:
        """The reply to `request`: an RLM run, a session's next question, or a pass-through."""
        rlm = self.rlm_for(request.model)
        routed = route(request.messages, self.options.threshold)
        handler = None
        if progress is not None:
            def handler(event: Event) -> None:
                line = progress_line(event)
                if line:
                    progress(line)
        session = self.sessions.get(session_id) if session_id else None
        if session is not None:
            self.sessions.move_to_end(session_id)  # type: ignore[arg-type]
            query = routed.query if routed else str(request.messages[-1]["content"])
            return self._reply(await session.aask(query, on_event=handler))
        if routed is None:
            return await self._pass_through(rlm, request, on_token)
        if session_id:
            session = self._open_session(session_id, rlm, routed.context)
            return self._reply(await session.aask(routed.query, on_event=handler))
        return self._reply(await rlm.arun(routed.context, routed.query, on_event=handler))

    def _open_session(self, session_id: str, rlm: RLM, context: str) -> Session:
        while len(self.sessions) >= self.options.max_sessions:
            _, oldest = self.sessions.popitem(last=False)
            self._closing.add(task := asyncio.get_running_loop().create_task(
                oldest.aclose(close_model=False)))
            task.add_done_callback(self._closing.discard)
        session = Session(rlm, context, config=self.options.config)
        self.sessions[session_id] = session
        return session

    @staticmethod
    def _reply(result: RLMResult) -> Reply:
        extra = {"status": result.status, "iterations": result.iterations,
                 "subcalls": result.subcalls, "cost": result.cost, "error": result.error}
        finish = "stop" if result.status == "success" else "length"
        return Reply(result.answer, result.usage, finish, extra)

    @staticmethod
    async def _pass_through(rlm: RLM, request: ChatRequest,
                            on_token: Callable[[str], None] | None) -> Reply:
        options = CompletionOptions(temperature=request.temperature,
                                    max_tokens=request.max_tokens, on_token=on_token)
        completion = await rlm.complete(request.messages, options)  # through the egress gate
        finish = "length" if completion.finish_reason == "length" else "stop"
        return Reply(completion.text, completion.usage, finish, {"routed": "pass-through"})

    async def stream(self, request: ChatRequest, session_id: str | None
                     ) -> AsyncIterator[tuple[str, Any]]:
        """("progress", line), ("token", text) as they come, then ("done", Reply) or
        ("error", WireError)."""
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        async def work() -> None:
            try:
                reply = await self.answer(
                    request, session_id, lambda line: queue.put_nowait(("progress", line)),
                    lambda text: queue.put_nowait(("token", text)))
                queue.put_nowait(("done", reply))
            except WireError as exc:
                queue.put_nowait(("error", exc))
            except RLMError as exc:
                queue.put_nowait(("error", WireError(502, f"the model failed: {exc}",
                                                     kind="api_error")))

        task = asyncio.create_task(work())
        try:
            while True:
                kind, value = await queue.get()
                yield kind, value
                if kind in ("done", "error"):
                    return
        finally:
            if not task.done():
                task.cancel()

    async def aclose(self) -> None:
        for session in list(self.sessions.values()):
            await session.aclose(close_model=False)
        self.sessions.clear()
        for rlm in self._rlms.values():
            await rlm.aclose()
