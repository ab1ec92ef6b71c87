"""A threaded HTTP server on 127.0.0.1 speaking OpenAI chat completions (JSON and SSE).

    with OpenAIServer(replies=["Hello"]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x")

`replies` is a list of strings (served in order) or a callable taking the request JSON and
returning a string. Every served request body is recorded in `requests`. `faults` (see
`Fault`) script failures: HTTP errors with Retry-After, resets, malformed JSON, cut streams.
Usage follows OpenAI's automatic prompt caching: a prompt that repeats at least 1,024 tokens
of an earlier prompt's start reports that shared prefix (in steps of 128 tokens) as
`cached_tokens`; `reasoning_tokens=N` adds N reasoning tokens to every reply's usage.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, ClassVar

from ._base import Fault, ReplyFn, WireServer, estimate, pieces, sse

__all__ = ["Fault", "OpenAIServer", "ReplyFn"]

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
               404: "invalid_request_error", 429: "rate_limit_exceeded"}


class OpenAIServer(WireServer):
    """An OpenAI-compatible server for tests: scripted replies, faults, recorded requests."""

    url_suffix: ClassVar[str] = "/v1"

    #: OpenAI caches prompt prefixes of at least this many tokens, in steps of CACHE_STEP.
    CACHE_MIN: ClassVar[int] = 1024
    CACHE_STEP: ClassVar[int] = 128

    def __init__(self, *args: Any, reasoning_tokens: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reasoning_tokens = reasoning_tokens
        self._prefixes: set[bytes] = set()

    def route(self, path: str, body: dict[str, Any]) -> bool:
        return path.split("?")[0].rstrip("/").endswith("/chat/completions")

    def is_stream(self, path: str, body: dict[str, Any]) -> bool:
        return bool(body.get("stream"))

    def prompt_text(self, body: dict[str, Any]) -> str:
        return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))

    def cached_prefix(self, prompt: str) -> int:
        """Tokens of `prompt` served from the prefix cache; remembers `prompt` for later ones.

        Prefixes are remembered by hash at each cache step (1,024 tokens, then every 128), so
        the cost per request grows with its length, not with the number of requests served.
        """
        first, step = self.CACHE_MIN * 4, self.CACHE_STEP * 4  # in characters
        digest = hashlib.blake2b(digest_size=16)
        marks: list[tuple[int, bytes]] = []
        done = 0
        for end in range(first, len(prompt) + 1, step):
            digest.update(prompt[done:end].encode())
            done = end
            marks.append((end, digest.copy().digest()))
        cached = 0
        with self._lock:
            for end, mark in marks:
                if mark not in self._prefixes:
                    break  # a longer prefix cannot have been seen if this one was not
                cached = end
            self._prefixes.update(mark for _, mark in marks)
        return cached // 4

    def usage(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        prompt_text = self.prompt_text(body)
        prompt = estimate(prompt_text)
        completion = estimate(text) + self.reasoning_tokens
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": self.cached_prefix(prompt_text)},
                "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens}}

    def limit(self, body: dict[str, Any], text: str) -> tuple[str, str]:
        """The reply cut to `max_tokens` (about 4 characters a token) and its finish reason."""
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        if cap and estimate(text) > int(cap):
            return text[: int(cap) * 4], "length"
        return text, "stop"

    def reply_json(self, path: str, body: dict[str, Any], text: str) -> dict[str, Any]:
        text, finish = self.limit(body, text)
        return {
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": text}}],
            "usage": self.usage(body, text),
        }

    def stream_chunks(self, path: str, body: dict[str, Any], text: str) -> list[bytes]:
        text, finish = self.limit(body, text)
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model", self.model)}
        out: list[bytes] = []
        for i, piece in enumerate(pieces(text)):
            delta: dict[str, Any] = {"content": piece}
            if i == 0:
                delta["role"] = "assistant"
            out.append(sse({**base, "choices": [{"index": 0, "delta": delta,
                                                  "finish_reason": None}]}))
        out.append(sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
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
