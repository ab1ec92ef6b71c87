"""Shared plumbing for the native providers: SDK loading, per-loop clients, error mapping."""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import time
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import Any, Generic, TypeVar

from ..errors import (
    AuthenticationError,
    MissingDependency,
    ProviderError,
    ProviderResponseError,
    ProviderUnreachable,
)
from .base import Provider

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


def require(module: str, package: str, extra: str, what: str) -> ModuleType:
    """Import an optional SDK, or raise MissingDependency naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(package, extra, what) from exc


class LoopLocal(Generic[T]):
    """One object per running event loop (an SDK's HTTP pool cannot cross loops).

    Nothing accumulates across loops: a closed loop's object is dropped when the next loop
    asks for one, and `pop_current` drops the running loop's (at the end of a run).
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._items: dict[int, tuple[asyncio.AbstractEventLoop, T]] = {}

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        entry = self._items.get(id(loop))
        if entry is None or entry[0] is not loop:
            for key in [k for k, (lp, _) in self._items.items() if lp.is_closed()]:
                del self._items[key]
            entry = (loop, self._factory())
            self._items[id(loop)] = entry
        return entry[1]

    def __len__(self) -> int:
        return len(self._items)

    def pop_current(self) -> T | None:
        """Forget (and return) this loop's object, for closing it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        entry = self._items.pop(id(loop), None)
        return entry[1] if entry else None


def parse_retry_after(headers: Mapping[str, str] | Any | None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
        raw = headers.get("retry-after")
    except Exception:
        return None
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def status_error(
    name: str, status: int | None, detail: str, *, retry_after: float | None = None
) -> ProviderError:
    """The toolkit error for an HTTP error status from a provider."""
    if status == 401:
        return AuthenticationError(
            f"{name} rejected the API key (401): check the key or its environment variable",
            status=401,
        )
    if status == 403:
        return AuthenticationError(
            f"{name} refused the request (403): the key lacks access to this model. {detail}",
            status=403,
        )
    retryable = status is None or status in RETRYABLE_STATUS or status >= 500
    hint = ""
    if status == 404:
        hint = " Check the model name and base_url."
    elif status == 429:
        hint = " Rate limited: slow down or raise the account's limits."
    return ProviderError(
        f"{name} failed (HTTP {status}): {detail}.{hint}",
        retryable=retryable,
        status=status,
        retry_after=retry_after,
    )


def rejects_temperature(exc: ProviderError) -> bool:
    """True for a 400 saying this model takes no temperature (OpenAI's reasoning models, newer
    Claude models): the call is then made again without it."""
    return exc.status == 400 and "temperature" in str(exc).lower()


class Wrapper:
    """Base of a provider that wraps another (`inner`): the name, window, base_url and any
    other attribute are the inner provider's, and closing closes it."""

    def __init__(self, inner: Provider) -> None:
        self.inner: Provider = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def context_window(self) -> int | None:
        return self.inner.context_window

    @property
    def base_url(self) -> str | None:
        return getattr(self.inner, "base_url", None)

    def __getattr__(self, attr: str) -> Any:
        """Everything else (model, provider, ...) is the wrapped provider's."""
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    async def aclose(self) -> None:
        await self.inner.aclose()


def chat_turns(messages: Any) -> tuple[str, list[tuple[str, str]]]:
    """(system text, [(role, text)]) with system messages joined and consecutive messages of
    one role merged, as APIs that keep the system prompt apart and alternate roles want."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns: list[tuple[str, str]] = []
    for m in messages:
        if m["role"] == "system":
            continue
        if turns and turns[-1][0] == m["role"]:
            turns[-1] = (m["role"], f"{turns[-1][1]}\n\n{m['content']}")
        else:
            turns.append((m["role"], m["content"]))
    return system, turns


async def retry_without_temperature(
    provider: Any, call: Callable[[Any, Any], Awaitable[Any]], messages: Any, options: Any,
) -> Any:
    """`call(messages, options)`; when the model refuses `temperature`, remember that on
    `provider.send_temperature` and make the call once more without it."""
    try:
        return await call(messages, options)
    except ProviderError as exc:
        if options.temperature is None or not provider.send_temperature \
                or not rejects_temperature(exc):
            raise
        provider.send_temperature = False
        return await call(messages, options)


def unreachable(name: str, where: str | None, exc: BaseException) -> ProviderError:
    """The toolkit error for a connection that failed or broke: `ProviderUnreachable` when it
    could not be opened, `ProviderResponseError` when it broke after the request went out
    (a reply cut off mid-body, a server that closed the connection without answering)."""
    chain = causes(exc)
    where = where or "its default endpoint"
    broke = next((e for e in chain if type(e).__name__ in BROKEN_REPLY), None)
    if broke is not None:
        detail = f"{type(broke).__name__}: {broke}"
        if any(mark in str(broke).lower() for mark in CUT_MARKS):
            what = ("the reply was cut off mid-body: the connection closed before the whole "
                    "response arrived")
        else:
            what = "the connection broke after the request was sent, before a complete reply"
        return ProviderResponseError(
            f"{name} at {where}: {what} ({detail}). The server reset or crashed mid-reply, or a "
            "proxy cut it; the call is retried, and if it keeps happening check the server's log",
            retryable=True,
        )
    inner = chain[-1]
    return ProviderUnreachable(
        f"could not connect to {name} at {where}: {type(inner).__name__}: {inner}. "
        "Is the server running and the base_url right?",
        retryable=True,
    )


#: Exception types (by name, across httpx, httpcore, h11 and aiohttp) raised when a
#: connection breaks after the request was sent.
BROKEN_REPLY = frozenset({
    "RemoteProtocolError", "ReadError", "WriteError", "LocalProtocolError", "ClientPayloadError",
    "ServerDisconnectedError", "ContentLengthError", "TransferEncodingError", "IncompleteRead",
    "ConnectionResetError", "BrokenPipeError",
})
#: Words in those exceptions' messages that mean the body itself was cut short.
CUT_MARKS = ("complete message body", "incomplete chunked", "payload is not completed",
             "content length", "transfer length", "incompleteread")


def causes(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from, outermost first."""
    chain = [exc]
    while len(chain) < 16:
        nxt = chain[-1].__cause__ or chain[-1].__context__
        if nxt is None or nxt in chain:
            break
        chain.append(nxt)
    return chain


def timed_out(name: str, exc: BaseException | None = None,
              where: str | None = None) -> ProviderError:
    """The toolkit error for a request that took longer than its timeout; a connection that
    could not be opened in time is `ProviderUnreachable`."""
    chain = causes(exc) if exc is not None else []
    if any(type(e).__name__ in CONNECT_TIMEOUTS for e in chain):
        return ProviderUnreachable(
            f"could not connect to {name} at {where or 'its default endpoint'} within the "
            "connect timeout: is the server running and the base_url right? "
            "(connect_timeout_s=... sets the limit)",
            retryable=True,
        )
    extra = f": {str(exc) or type(exc).__name__}" if exc is not None else ""
    return ProviderError(f"{name} timed out{extra}", retryable=True, status=408)


#: Timeout types (httpx, httpcore, aiohttp) raised while opening a connection.
CONNECT_TIMEOUTS = frozenset({"ConnectTimeout", "ConnectionTimeoutError"})


TRANSPORT_MODULES = frozenset({"httpx", "httpx2", "httpcore", "h11", "anyio", "aiohttp"})


def transport_error(name: str, where: str | None, exc: BaseException) -> ProviderError:
    """Map an exception outside an SDK's own hierarchy (transport, bad JSON) to a toolkit error."""
    module = (type(exc).__module__ or "").split(".")[0]
    if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
        return timed_out(name, exc, where)
    if module in TRANSPORT_MODULES or isinstance(exc, (ConnectionError, OSError)):
        return unreachable(name, where, exc)
    if isinstance(exc, ValueError):  # JSON that does not parse or validate
        return ProviderResponseError(
            f"{name} sent a malformed response ({type(exc).__name__}: {exc})", retryable=True
        )
    return ProviderError(f"{name} failed: {type(exc).__name__}: {exc}", retryable=False)
