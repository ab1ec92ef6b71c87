"""A threaded HTTP server on 127.0.0.1 speaking OpenAI chat completions (JSON and SSE).

    with OpenAIServer(replies=["Hello"]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x")

`replies` is a list of strings (served in order) or a callable taking the request JSON and
returning a string. Every served request body is recorded in `requests`. `faults` (see
`Fault`) script failures: HTTP errors with Retry-After, resets, malformed JSON, cut streams.
Usage reports cached tokens when the request repeats an earlier prompt prefix, and
`reasoning_tokens` when the reply fn's text starts with a <think> block.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from ._base import Fault, ReplyFn, WireServer, estimate, pieces, sse

__all__ = ["Fault", "OpenAIServer", "ReplyFn"]

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
               404: "invalid_request_error", 429: "rate_limit_exceeded"}


class OpenAIServer(WireServer):
    """An OpenAI-compatible server for tests: scripted replies, faults, recorded requests."""

    url_suffix: ClassVar[str] = "/v1"

    def route(self, path: str, body: dict[str, Any]) -> bool:
        return path.split("?")[0].rstrip("/").endswith("/chat/completions")

    def is_stream(self, path: str, body: dict[str, Any]) -> bool:
        return bool(body.get("stream"))

    def prompt_text(self, body: dict[str, Any]) -> str:
        return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))

    def usage(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        prompt = estimate(self.prompt_text(body))
        completion = estimate(text)
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0}}

    def reply_json(self, path: str, body: dict[str, Any], text: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": self.usage(body, text),
        }

    def stream_chunks(self, path: str, body: dict[str, Any], text: str) -> list[bytes]:
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model", self.model)}
        out: list[bytes] = []
        for i, piece in enumerate(pieces(text)):
            delta: dict[str, Any] = {"content": piece}
            if i == 0:
                delta["role"] = "assistant"
            out.append(sse({**base, "choices": [{"index": 0, "delta": delta,
                                                  "finish_reason": None}]}))
        out.append(sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        if (body.get("stream_options") or {}).get("include_usage"):
            out.append(sse({**base, "choices": [], "usage": self.usage(body, text)}))
        out.append(sse("[DONE]"))
        return out

    def error_json(self, status: int, message: str) -> dict[str, Any]:
        kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def handle_get(self, path: str) -> tuple[int, dict[str, Any]]:
        if path.rstrip("/").endswith("/models"):
            return 200, {"object": "list", "data": [
                {"id": self.model, "object": "model", "owned_by": "test"}]}
        return 404, self.error_json(404, "not found")
