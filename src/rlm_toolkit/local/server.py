"""An OpenAI-compatible HTTP server over a `LocalRuntime`: one loaded model for many runs.

Speaks the subset RLM clients use: `GET /v1/models`, `POST /v1/chat/completions` (plain and
`stream: true` server-sent events, with usage), and `GET /health`. Loopback by default; an
optional bearer key guards it when bound wider.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import ProviderError
from .runtime import Generation, LocalRuntime

MAX_BODY = 64 * 1024 * 1024


class ModelServer(ThreadingHTTPServer):
    """Serves `runtime` as `model_id` on (host, port); port 0 picks a free one."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, runtime: LocalRuntime, model_id: str, host: str = "127.0.0.1",
                 port: int = 8081, api_key: str | None = None) -> None:
        self.runtime = runtime
        self.model_id = model_id
        self.api_key = api_key
        self.started = int(time.time())
        super().__init__((host, port), _Handler)

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
            messages = _messages(body)
        except ValueError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        kwargs: dict[str, Any] = {
            "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens"),
            "temperature": float(body.get("temperature") or 0.0),
            "stop": _stops(body.get("stop")),
        }
        if body.get("stream"):
            self._stream(messages, kwargs, bool((body.get("stream_options") or {})
                                                .get("include_usage")))
            return
        try:
            gen = self.server.runtime.chat(messages, **kwargs)
        except ProviderError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        self._json(HTTPStatus.OK, {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
            "created": int(time.time()), "model": self.server.model_id,
            "choices": [{"index": 0, "finish_reason": gen.finish_reason,
                         "message": {"role": "assistant", "content": gen.text}}],
            "usage": _usage(gen),
        })

    # --- pieces ----------------------------------------------------------------------
    def _stream(self, messages: list[dict[str, str]], kwargs: dict[str, Any],
                include_usage: bool) -> None:
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
            gen = self.server.runtime.chat(
                messages, on_text=lambda t: chunk({"content": t}), cancel=cancel, **kwargs)
        except ProviderError as exc:
            chunk({"content": ""}, "error")
            self.log_error("%s", exc)
            return
        except Exception:  # the client left mid-stream (Cancelled)
            return
        chunk({}, gen.finish_reason)
        if include_usage:
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
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            raise ValueError(f"a JSON body of 1 to {MAX_BODY} bytes is required")
        try:
            body = json.loads(self.rfile.read(length))
        except json.JSONDecodeError as exc:
            raise ValueError(f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def _json(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": "invalid_request_error",
                                      "code": status.value}})


def _messages(body: dict[str, Any]) -> list[dict[str, str]]:
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ValueError("'messages' must be a non-empty list of {role, content}")
    out = []
    for m in raw:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise ValueError("each message needs a role of system, user or assistant")
        out.append({"role": m["role"], "content": "".join(_text_parts(m.get("content")))})
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
    return [stop] if isinstance(stop, str) else [str(s) for s in stop]


def _usage(gen: Generation) -> dict[str, Any]:
    return {"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": gen.cached_tokens}}
