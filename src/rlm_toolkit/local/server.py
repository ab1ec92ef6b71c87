"""An OpenAI-compatible HTTP server over a `LocalRuntime`: one loaded model for many runs.

Speaks the subset RLM clients use: `GET /v1/models`, `POST /v1/chat/completions` (plain and
`stream: true` server-sent events, with usage), and `GET /health`. Loopback by default; an
optional bearer key guards it when bound wider.
"""

from __future__ import annotations

import errno
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import ConfigError, ProviderError
from .runtime import Generation, LocalRuntime

MAX_BODY = 64 * 1024 * 1024


class ModelServer(ThreadingHTTPServer):
    """Serves `runtime` as `model_id` on (host, port); port 0 picks a free one."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, runtime: LocalRuntime | None, model_id: str, host: str = "127.0.0.1",
                 port: int = 8081, api_key: str | None = None) -> None:
        """Bind (host, port) now; `runtime` may be attached later (after a slow load), so a
        busy port is refused before any model is loaded. Raises ConfigError on a bad port or
        one in use."""
        self.runtime = runtime
        self.model_id = model_id
        self.api_key = api_key
        self.started = int(time.time())
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"port {port!r} is not a TCP port: give 1 to 65535, or 0 for a "
                              "free one")
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"port {port} on {host} is already in use: stop what holds it "
                                  "or choose another with --port N (0 picks a free one)") from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; check "
                              "--host and --port") from None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> ModelServer:
        """Serve on a background thread (for tests and embedding)."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the CLI prints one line a request itself."""

    # --- routing ---------------------------------------------------------------------
    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/health":
            self._json(HTTPStatus.OK, {"status": "ok", "model": self.server.model_id})
        elif not self._authorised():
            return
        elif self.path.rstrip("/") == "/v1/models":
            self._json(HTTPStatus.OK, {"object": "list", "data": [{
                "id": self.server.model_id, "object": "model", "created": self.server.started,
                "owned_by": "local"}]})
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}")

    def do_POST(self) -> None:
        if not self._authorised():
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}; use /v1/chat/completions")
            return
        try:
            body = self._body()
            request = parse_request(body)
        except BadRequest as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc), param=exc.param)
            return
        runtime = self.server.runtime
        if runtime is None:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, "the model is still loading; retry soon")
            return
        if request.stream:
            self._stream(runtime, request)
            return
        try:
            gen = runtime.chat(request.messages, **request.options())
        except ProviderError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        except Exception as exc:  # a fault in the runtime: answer it, never drop the line
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"generation failed: {exc}",
                        kind="server_error")
            return
        self._json(HTTPStatus.OK, {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
            "created": int(time.time()), "model": self.server.model_id,
            "choices": [{"index": 0, "finish_reason": gen.finish_reason,
                         "message": {"role": "assistant", "content": gen.text}}],
            "usage": _usage(gen),
        })

    # --- pieces ----------------------------------------------------------------------
    def _stream(self, runtime: LocalRuntime, request: ChatRequest) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        cancel = threading.Event()
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None,
                  usage: dict[str, Any] | None = None) -> None:
            payload: dict[str, Any] = {
                "id": ident, "object": "chat.completion.chunk", "created": created,
                "model": self.server.model_id,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
                if usage is None else [],
            }
            if usage is not None:
                payload["usage"] = usage
            try:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()
            except OSError:
                cancel.set()  # the client went away: stop generating

        chunk({"role": "assistant", "content": ""})
        try:
            gen = runtime.chat(request.messages, on_text=lambda t: chunk({"content": t}),
                               cancel=cancel, **request.options())
        except ProviderError as exc:
            chunk({"content": ""}, "error")
            self.log_error("%s", exc)
            return
        except Exception:  # the client left mid-stream (Cancelled)
            return
        chunk({}, gen.finish_reason)
        if request.include_usage:
            chunk({}, usage=_usage(gen))
        try:
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    def _authorised(self) -> bool:
        key = self.server.api_key
        if key is None:
            return True
        given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if hmac.compare_digest(given.encode(), key.encode()):
            return True
        self._error(HTTPStatus.UNAUTHORIZED, "missing or wrong API key (Authorization: Bearer)")
        return False

    def _body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length <= 0 or length > MAX_BODY:
            raise BadRequest(f"a JSON body of 1 to {MAX_BODY} bytes is required")
        try:
            body = json.loads(self.rfile.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def _json(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: HTTPStatus, message: str, *, param: str | None = None,
               kind: str = "invalid_request_error") -> None:
        """An error in OpenAI's shape: {"error": {message, type, param, code}}."""
        self._json(status, {"error": {"message": message, "type": kind, "param": param,
                                      "code": status.value}})


class BadRequest(ValueError):
    """A request the server answers with 400; `param` names the offending field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class ChatRequest:
    """A checked /v1/chat/completions request."""

    messages: list[dict[str, str]]
    max_tokens: int | None = None
    temperature: float = 0.0
    stop: list[str] | None = None
    stream: bool = False
    include_usage: bool = False

    def options(self) -> dict[str, Any]:
        """The runtime's keyword arguments for this request."""
        return {"max_tokens": self.max_tokens, "temperature": self.temperature,
                "stop": self.stop}


def parse_request(body: dict[str, Any]) -> ChatRequest:
    """Check every field the server reads; BadRequest names the first that is wrong."""
    temperature = body.get("temperature")
    if temperature is not None and (
            isinstance(temperature, bool) or not isinstance(temperature, (int, float))
            or not 0 <= temperature <= 2):
        raise BadRequest(f"'temperature' must be a number from 0 to 2; got {temperature!r}",
                         "temperature")
    field = "max_completion_tokens" if body.get("max_completion_tokens") is not None \
        else "max_tokens"
    max_tokens = body.get(field)
    if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        raise BadRequest(f"'{field}' must be a whole number of at least 1; got {max_tokens!r}",
                         field)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise BadRequest(f"'stream' must be true or false; got {stream!r}", "stream")
    stream_options = body.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        raise BadRequest("'stream_options' must be an object", "stream_options")
    return ChatRequest(
        messages=_messages(body), max_tokens=max_tokens,
        temperature=float(temperature or 0.0), stop=_stops(body.get("stop")),
        stream=bool(stream), include_usage=bool((stream_options or {}).get("include_usage")),
    )


def _messages(body: dict[str, Any]) -> list[dict[str, str]]:
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("'messages' must be a non-empty list of {role, content}", "messages")
    out = []
    for m in raw:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise BadRequest("each message needs a role of system, user or assistant",
                             "messages")
        content = m.get("content")
        if not isinstance(content, (str, list)):
            raise BadRequest("each message's content must be a string or a list of text parts",
                             "messages")
        out.append({"role": m["role"], "content": "".join(_text_parts(content))})
    return out


def _text_parts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                yield str(part.get("text", ""))


def _stops(stop: Any) -> list[str] | None:
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop):
        return stop or None
    raise BadRequest(f"'stop' must be a string or a list of up to 4 strings; got {stop!r}",
                     "stop")


def _usage(gen: Generation) -> dict[str, Any]:
    return {"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": gen.cached_tokens}}
