"""A threaded HTTP server on 127.0.0.1 speaking OpenAI chat completions (JSON and SSE).

    with OpenAIServer(replies=["Hello"]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x")

`replies` is a list of strings (served in order) or a callable taking the request JSON and
returning a string. Every request body is recorded in `requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ReplyFn = Callable[[dict[str, Any]], str]


class OpenAIServer:
    """An OpenAI-compatible server for tests: scripted replies, fixed latency, recorded requests."""

    def __init__(
        self,
        replies: Sequence[str] | ReplyFn = (),
        *,
        latency_s: float = 0.0,
        model: str = "test-model",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._fn = replies if callable(replies) else None
        self._queue = [] if callable(replies) else list(replies)
        self.latency_s = latency_s
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_reply(self, body: dict[str, Any]) -> str:
        with self._lock:
            self.requests.append(body)
            if self._fn is not None:
                fn = self._fn
            elif self._queue:
                return self._queue.pop(0)
            else:
                raise LookupError("the test server has no scripted reply left")
        return fn(body)

    def prompt_texts(self) -> list[str]:
        """Each recorded request's messages joined into one string."""
        return [
            "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
            for body in self.requests
        ]


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4 + 1
    completion = len(text) // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [
                    {"id": server.model, "object": "model", "owned_by": "test"}]})
            else:
                self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            try:
                text = server.next_reply(body)
            except LookupError as exc:
                self._json(500, {"error": {"message": str(exc), "type": "server_error"}})
                return
            if server.latency_s:
                time.sleep(server.latency_s)
            model = body.get("model", server.model)
            usage = _usage(body, text)
            if body.get("stream"):
                self._stream(model, text, usage, body)
                return
            self._json(200, {
                "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": usage,
            })

        def _stream(self, model: str, text: str, usage: dict[str, int], body: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def emit(payload: dict[str, Any] | str) -> None:
                raw = payload if isinstance(payload, str) else json.dumps(payload)
                data = f"data: {raw}\n\n".encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

            base = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                    "created": int(time.time()), "model": model}
            pieces = [text[i : i + 8] for i in range(0, len(text), 8)] or [""]
            for i, piece in enumerate(pieces):
                delta: dict[str, Any] = {"content": piece}
                if i == 0:
                    delta["role"] = "assistant"
                emit({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            emit({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                emit({**base, "choices": [], "usage": usage})
            emit("[DONE]")
            self.wfile.write(b"0\r\n\r\n")

    return Handler
