"""The shared core of the loopback wire servers: threads, scripted replies, fault injection.

Each subclass speaks one provider's wire (routes, JSON shapes, streaming framing, error
bodies); this module serves them on 127.0.0.1 and applies scripted faults in order:

    with AnthropicServer(["hi"], faults=[Fault.http(429, retry_after=0), None]) as srv: ...

A reply function may also return a `Fault` (an HTTP error, a reset or a malformed body) to
fail chosen requests by their content, whatever order they arrive in.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar


@dataclass(frozen=True)
class Fault:
    """One scripted failure, applied to one request.

    kind: "status" (an HTTP error with the wire's error body), "reset" (TCP reset before any
    reply), "malformed" (200 with a body that is not JSON), "cut" (the reply stops half-way:
    a stream without its end, or a body shorter than its Content-Length), "delay" (answer
    normally after `delay_s`, to trip client timeouts).
    """

    kind: str
    status: int = 500
    retry_after: float | None = None
    delay_s: float = 0.0
    message: str = "injected fault"

    @classmethod
    def http(cls, status: int, *, retry_after: float | None = None, message: str = "") -> Fault:
        return cls("status", status=status, retry_after=retry_after,
                   message=message or f"injected HTTP {status}")

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")

    @classmethod
    def cut(cls) -> Fault:
        return cls("cut")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls("delay", delay_s=seconds)


ReplyFn = Callable[[dict[str, Any]], "str | Fault"]


class WireServer:
    """A threaded HTTP server on loopback; subclasses define the wire format."""

    #: path suffix of `base_url` (e.g. "/v1" for OpenAI).
    url_suffix: ClassVar[str] = ""

    def __init__(
        self,
        replies: Sequence[str] | ReplyFn = (),
        *,
        latency_s: float = 0.0,
        model: str = "test-model",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Iterable[Fault | None] = (),
    ) -> None:
        self._fn = replies if callable(replies) else None
        self._queue = [] if callable(replies) else list(replies)
        self.latency_s = latency_s
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.attempts = 0
        self.faults: list[Fault | None] = list(faults)
        self._lock = threading.Lock()
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.url_suffix}"

    def start(self) -> WireServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting ---------------------------------------------------------------------
    def inject(self, *faults: Fault | None) -> None:
        """Queue faults for the next requests (None = serve that one normally)."""
        with self._lock:
            self.faults.extend(faults)

    def next_fault(self) -> Fault | None:
        with self._lock:
            self.attempts += 1
            return self.faults.pop(0) if self.faults else None

    def next_reply(self, body: dict[str, Any]) -> str | Fault:
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
        """Each recorded request's prompt text joined into one string."""
        return [self.prompt_text(body) for body in self.requests]

    # --- the wire (subclasses) ---------------------------------------------------------
    def route(self, path: str, body: dict[str, Any]) -> bool:
        """True when `path` is this wire's completion route."""
        raise NotImplementedError

    def is_stream(self, path: str, body: dict[str, Any]) -> bool:
        raise NotImplementedError

    def prompt_text(self, body: dict[str, Any]) -> str:
        raise NotImplementedError

    def reply_json(self, path: str, body: dict[str, Any], text: str) -> dict[str, Any]:
        raise NotImplementedError

    def stream_chunks(self, path: str, body: dict[str, Any], text: str) -> list[bytes]:
        """The raw byte chunks of a streamed reply, in order."""
        raise NotImplementedError

    stream_content_type: ClassVar[str] = "text/event-stream"

    def error_json(self, status: int, message: str) -> dict[str, Any]:
        raise NotImplementedError

    def handle_get(self, path: str) -> tuple[int, dict[str, Any]]:
        return 404, self.error_json(404, f"no route {path}")


def sse(payload: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One server-sent event."""
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {raw}\n\n".encode()


def estimate(text: str) -> int:
    """The servers' token count: about 4 characters a token, at least 1."""
    return len(text) // 4 + 1


def pieces(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 256  # many clients connect at once in tests and benchmarks
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # injected resets and cut streams are expected here


def _handler_for(server: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle's algorithm on, the body
        # waits for the client's delayed ACK (about 40 ms a request on Linux).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def finish(self) -> None:
            with contextlib.suppress(OSError):
                super().finish()

        def _send(self, status: int, data: bytes, ctype: str = "application/json",
                  extra: dict[str, str] | None = None, length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data) if length is None else length))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def _json(self, status: int, payload: dict[str, Any],
                  extra: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), extra=extra)

        def _reset(self) -> None:
            self.close_connection = True
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.connection.close()

        def do_GET(self) -> None:
            status, payload = server.handle_get(self.path)
            self._json(status, payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._json(400, server.error_json(400, "request body is not valid JSON"))
                return
            if not server.route(self.path, body):
                self._json(404, server.error_json(404, f"no route {self.path}"))
                return
            fault = server.next_fault()
            with server._lock:
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.delay_s)
                fault = None
            if fault is not None and self._fail(fault):
                return
            try:
                text = server.next_reply(body)
            except LookupError as exc:
                self._json(500, server.error_json(500, str(exc)))
                return
            if isinstance(text, Fault):
                if not self._fail(text):
                    raise ValueError(f"a reply function can return status, reset or "
                                     f"malformed faults, not {text.kind!r}")
                return
            if server.latency_s:
                time.sleep(server.latency_s)
            cut = fault is not None and fault.kind == "cut"
            if server.is_stream(self.path, body):
                self._stream(server.stream_chunks(self.path, body, text), cut)
                return
            data = json.dumps(server.reply_json(self.path, body, text)).encode()
            if cut:
                self._send(200, data[: len(data) // 2], length=len(data))
                self._reset()
                return
            self._send(200, data)

        def _fail(self, fault: Fault) -> bool:
            """Answer with an error status, a reset or a malformed body; False otherwise."""
            if fault.kind == "reset":
                self._reset()
            elif fault.kind == "status":
                extra = {}
                if fault.retry_after is not None:
                    extra["Retry-After"] = _fmt(fault.retry_after)
                self._json(fault.status, server.error_json(fault.status, fault.message), extra)
            elif fault.kind == "malformed":
                self._send(200, b'{"id": "broken", "choices": [{"mess')
            else:
                return False
            return True

        def _stream(self, chunks: list[bytes], cut: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", server.stream_content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if cut:
                chunks = chunks[: max(1, len(chunks) // 2)]
            for data in chunks:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            if cut:
                self._reset()
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler


def _fmt(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
