"""A session: `ask` many questions over one context; the REPL and a history kept between them.

    with rlm.session(context=Path("reports/")) as session:
        first = session.ask("Which report mentions the merger?")
        second = session.ask("What did that report say about its price?")

Variables the model defined for one question are there for the next; the earlier questions
and answers are shown to the model in compact, bounded form (`History`). `save(folder)` writes
the history and every JSON-able REPL variable; `Session.restore(rlm, context, folder)` resumes
it in another process. Budgets: `question_max_tokens` / `question_max_cost` apply to each
question, `max_tokens` / `max_cost` to the session's total.

The synchronous methods run on the session's own event loop (a thread); the `a...` methods on
the caller's loop. Use one kind for a session's whole life: its REPL lives on one loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..engine.config import RLMConfig
from ..engine.events import EventHandler
from ..engine.kept import KeptRepl
from ..engine.result import RLMResult
from ..errors import ConfigError, RLMError
from ..providers.base import Usage
from .history import History
from .state import DUMP_CODE, parse_dump, restore_code

if TYPE_CHECKING:
    from ..engine.rlm import RLM

T = TypeVar("T")
STATE_FILE = "session.json"
FORMAT = 1


class SessionError(RLMError):
    """A session was used after close, or its state could not be saved or read."""


class SessionBudgetSpent(SessionError):
    """The session's total budget (max_tokens / max_cost) is spent: no more questions."""


async def _refuse(method: str, args: dict[str, Any]) -> Any:
    raise RuntimeError("no model calls while the session saves or restores its state")


class _LoopThread:
    """An event loop on a thread of its own, for the synchronous methods."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="rlm-session")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class Session:
    """Questions over one context with the REPL kept between them. See the module's doc."""

    def __init__(self, rlm: RLM, context: Any, *, config: RLMConfig | None = None,
                 history: History | None = None, question_max_tokens: int | None = None,
                 question_max_cost: float | None = None, max_tokens: int | None = None,
                 max_cost: float | None = None) -> None:
        for name, value in (("question_max_tokens", question_max_tokens),
                            ("question_max_cost", question_max_cost),
                            ("max_tokens", max_tokens), ("max_cost", max_cost)):
            if value is not None and (isinstance(value, bool) or value <= 0):
                raise ConfigError(f"{name} must be a positive number or None, got {value!r}")
        self.rlm = rlm
        self.context = context
        self.config = config or rlm.config
        self.history = history or History()
        self.question_max_tokens = question_max_tokens
        self.question_max_cost = question_max_cost
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.usage = Usage()  # the whole session's tokens
        self.cost = 0.0
        self.results: list[RLMResult] = []
        self._kept = KeptRepl()
        self._saved_vars: dict[str, Any] = {}  # restored, not yet in a REPL
        self._closed = False
        self._thread: _LoopThread | None = None
        self._lock = asyncio.Lock()

    # --- asking -------------------------------------------------------------------------
    async def aask(self, query: str, *, on_event: EventHandler | None = None) -> RLMResult:
        """Answer `query` on the session's REPL; the result as `RLM.arun` gives it."""
        self._check_open()
        async with self._lock:
            config = self._question_config()
            self._kept.history = self.history.render()
            result = await self.rlm.arun(self.context, query, on_event=on_event, config=config,
                                         keep=self._kept)
            self.usage.add(result.usage)
            self.cost += result.cost or 0.0
            self.history.add(query, result.answer, result.status)
            self.results.append(result)
            return result

    def ask(self, query: str, *, on_event: EventHandler | None = None) -> RLMResult:
        """The synchronous `aask` (on the session's own event loop)."""
        return self._sync(self.aask(query, on_event=on_event))

    def _question_config(self) -> RLMConfig:
        """This question's limits: its own, and what is left of the session's."""
        tokens, cost = self.question_max_tokens, self.question_max_cost
        if self.max_tokens is not None:
            left_tokens = self.max_tokens - self.usage.total_tokens
            if left_tokens <= 0:
                raise SessionBudgetSpent(
                    f"the session's budget is spent (max_tokens={self.max_tokens:,}, used "
                    f"{self.usage.total_tokens:,}): start a new session or give a larger "
                    "max_tokens")
            tokens = left_tokens if tokens is None else min(tokens, left_tokens)
        if self.max_cost is not None:
            left_cost = self.max_cost - self.cost
            if left_cost <= 0:
                raise SessionBudgetSpent(
                    f"the session's budget is spent (max_cost=${self.max_cost:g}, used "
                    f"${self.cost:.4f}): start a new session or give a larger max_cost")
            cost = left_cost if cost is None else min(cost, left_cost)
        changes: dict[str, Any] = {}
        if tokens is not None:
            base = self.config.max_tokens
            changes["max_tokens"] = tokens if base is None else min(base, tokens)
        if cost is not None:
            base_cost = self.config.max_cost
            changes["max_cost"] = cost if base_cost is None else min(base_cost, cost)
        return dataclasses.replace(self.config, **changes) if changes else self.config

    # --- saving and restoring ------------------------------------------------------------
    async def avariables(self) -> dict[str, Any]:
        """The REPL's variables that JSON can hold (restored ones before the first question)."""
        self._check_open()
        worker = self._kept.worker
        if worker is None:
            return dict(self._saved_vars)
        step = await worker.execute(DUMP_CODE, _refuse)
        found = parse_dump(step.stdout)
        if found is None or step.dropped_chars:
            raise SessionError(
                "the REPL's variables could not be read back whole "
                f"({step.error or 'their JSON is larger than the output limit'}): keep big "
                "results in files of your own, or delete large variables before saving")
        return found

    async def asave(self, folder: str | Path) -> Path:
        """Write the history, the JSON-able variables and the totals to `folder`/session.json."""
        variables = await self.avariables()
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "history": self.history.to_dict(), "variables": variables,
                "usage": self.usage.to_dict(), "cost": self.cost,
                "budgets": {"question_max_tokens": self.question_max_tokens,
                            "question_max_cost": self.question_max_cost,
                            "max_tokens": self.max_tokens, "max_cost": self.max_cost}}
        path = target / STATE_FILE
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
        temp.replace(path)
        return path

    def save(self, folder: str | Path) -> Path:
        """The synchronous `asave`."""
        return self._sync(self.asave(folder))

    @classmethod
    def restore(cls, rlm: RLM, context: Any, folder: str | Path, *,
                config: RLMConfig | None = None) -> Session:
        """A session resumed from `folder` (written by `save`) over the same `context`."""
        path = Path(folder) / STATE_FILE
        try:
            data = json.loads(path.read_text("utf-8"))
            history = History.from_dict(data["history"])
            variables = data["variables"]
            budgets = data.get("budgets", {})
            if data.get("format") != FORMAT or not isinstance(variables, dict):
                raise ValueError(f"format {data.get('format')!r} is not {FORMAT}")
        except FileNotFoundError:
            raise SessionError(f"no saved session at {str(path)!r}: give the folder that "
                               "Session.save wrote") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SessionError(f"the saved session {str(path)!r} cannot be read ({exc}): "
                               "save it again, or start a new session") from None
        session = cls(rlm, context, config=config, history=history, **budgets)
        session.usage.add(Usage(**{k: v for k, v in data.get("usage", {}).items()
                                   if k in {f.name for f in dataclasses.fields(Usage)}}))
        session.cost = float(data.get("cost", 0.0))
        session._saved_vars = variables
        if variables:
            session._kept.setup = [restore_code(variables)]
        return session

    # --- closing -------------------------------------------------------------------------
    async def aclose(self, *, close_model: bool = True) -> None:
        """Stop the REPL and (unless `close_model` is False: an RLM shared with others)
        close the model connections."""
        if self._closed:
            return
        self._closed = True
        await self._kept.close()
        if close_model:
            await self.rlm.aclose()

    def close(self) -> None:
        """The synchronous `aclose`."""
        if self._closed:
            return
        if self._thread is None:
            asyncio.run(self.aclose())
            return
        try:
            self._thread.run(self.aclose())
        finally:
            self._thread.stop()
            self._thread = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise SessionError("this session is closed: start a new one with rlm.session(...)")

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            self._check_open()
        if self._thread is None:
            self._thread = _LoopThread()
        return self._thread.run(coro)
