"""A loopback server speaking Ollama's native /api/chat (JSON and NDJSON streaming).

    with OllamaServer(["Hello"]) as srv:
        client = ollama.Client(host=srv.base_url)

Like the real server it reports `prompt_eval_count` and `eval_count`, and it silently
truncates a prompt longer than the window: `options.num_ctx`, or `default_num_ctx`
(Ollama's small default) when the client sets none. Truncated requests are listed in
`truncated`, so a test can prove the client asked for a window large enough.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ._base import Fault, ReplyFn, WireServer, estimate, pieces

__all__ = ["Fault", "OllamaServer", "ReplyFn"]

CREATED_AT = "2026-01-01T00:00:00.000000Z"


class OllamaServer(WireServer):
    """An Ollama server for tests: scripted replies, faults, window accounting."""

    url_suffix: ClassVar[str] = ""
    stream_content_type: ClassVar[str] = "application/x-ndjson"

    def __init__(self, *args: Any, default_num_ctx: int = 4096, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_num_ctx = default_num_ctx
        self.truncated: list[dict[str, Any]] = []

    def route(self, path: str, body: dict[str, Any]) -> bool:
        return path.split("?")[0].rstrip("/") == "/api/chat"

    def is_stream(self, path: str, body: dict[str, Any]) -> bool:
        return body.get("stream", True) is not False  # Ollama streams unless told not to

    def prompt_text(self, body: dict[str, Any]) -> str:
        return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))

    def next_reply(self, body: dict[str, Any]) -> str | Fault:
        window = int((body.get("options") or {}).get("num_ctx") or self.default_num_ctx)
        if estimate(self.prompt_text(body)) > window:
            with self._lock:
                self.truncated.append(body)
        return super().next_reply(body)

    def _counts(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        window = int((body.get("options") or {}).get("num_ctx") or self.default_num_ctx)
        return {"prompt_eval_count": min(estimate(self.prompt_text(body)), window),
                "eval_count": estimate(text), "total_duration": 1_000_000,
                "load_duration": 1_000, "prompt_eval_duration": 1_000, "eval_duration": 1_000}

    def reply_json(self, path: str, body: dict[str, Any], text: str) -> dict[str, Any]:
        return {"model": body.get("model", self.model), "created_at": CREATED_AT,
                "message": {"role": "assistant", "content": text}, "done": True,
                "done_reason": "stop", **self._counts(body, text)}

    def stream_chunks(self, path: str, body: dict[str, Any], text: str) -> list[bytes]:
        model = body.get("model", self.model)
        out = [json.dumps({"model": model, "created_at": CREATED_AT, "done": False,
                           "message": {"role": "assistant", "content": piece}}).encode() + b"\n"
               for piece in pieces(text)]
        final = {"model": model, "created_at": CREATED_AT, "done": True, "done_reason": "stop",
                 "message": {"role": "assistant", "content": ""}, **self._counts(body, text)}
        out.append(json.dumps(final).encode() + b"\n")
        return out

    def error_json(self, status: int, message: str) -> dict[str, Any]:
        return {"error": message}

    def handle_get(self, path: str) -> tuple[int, dict[str, Any]]:
        if path.rstrip("/") == "/api/tags":
            return 200, {"models": [{"name": self.model, "model": self.model}]}
        return 404, self.error_json(404, "not found")
