"""A loopback server speaking Anthropic's Messages API (JSON and SSE events).

    with AnthropicServer(["Hello"]) as srv:
        client = anthropic.Anthropic(base_url=srv.base_url, api_key="x")

Prompt caching is simulated: blocks marked with `cache_control` form a prefix; the first
request with a prefix reports it as `cache_creation_input_tokens`, later ones as
`cache_read_input_tokens`; `input_tokens` counts only the rest, as the real API does.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from ._base import Fault, ReplyFn, WireServer, estimate, pieces, sse

__all__ = ["AnthropicServer", "Fault", "ReplyFn"]

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


class AnthropicServer(WireServer):
    """An Anthropic Messages server for tests: scripted replies, faults, cache accounting."""

    url_suffix: ClassVar[str] = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cached_prefixes: set[bytes] = set()  # hashes of the cached prefixes

    def route(self, path: str, body: dict[str, Any]) -> bool:
        return path.split("?")[0].rstrip("/") == "/v1/messages"

    def is_stream(self, path: str, body: dict[str, Any]) -> bool:
        return bool(body.get("stream"))

    def _all_blocks(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = _blocks(body.get("system"))
        for message in body.get("messages", []):
            blocks.extend(_blocks(message.get("content")))
        return blocks

    def prompt_text(self, body: dict[str, Any]) -> str:
        return "\n".join(str(b.get("text", "")) for b in self._all_blocks(body))

    def usage(self, body: dict[str, Any], text: str) -> dict[str, int]:
        blocks = self._all_blocks(body)
        last = max((i for i, b in enumerate(blocks) if b.get("cache_control")), default=-1)
        prefix = "\n".join(str(b.get("text", "")) for b in blocks[: last + 1])
        rest = "\n".join(str(b.get("text", "")) for b in blocks[last + 1 :])
        created = read = 0
        if prefix:
            key = hashlib.blake2b(prefix.encode(), digest_size=16).digest()
            with self._lock:
                if key in self._cached_prefixes:
                    read = estimate(prefix)
                else:
                    created = estimate(prefix)
                    self._cached_prefixes.add(key)
        return {"input_tokens": estimate(rest), "output_tokens": estimate(text),
                "cache_creation_input_tokens": created, "cache_read_input_tokens": read}

    def _message(self, body: dict[str, Any], content: list[dict[str, Any]],
                 usage: dict[str, int], stop: str | None) -> dict[str, Any]:
        return {"id": "msg_test", "type": "message", "role": "assistant",
                "model": body.get("model", self.model), "content": content,
                "stop_reason": stop, "stop_sequence": None, "usage": usage}

    def reply_json(self, path: str, body: dict[str, Any], text: str) -> dict[str, Any]:
        return self._message(body, [{"type": "text", "text": text}], self.usage(body, text),
                             "end_turn")

    def stream_chunks(self, path: str, body: dict[str, Any], text: str) -> list[bytes]:
        usage = self.usage(body, text)
        start = self._message(body, [], {**usage, "output_tokens": 1}, None)
        out = [sse({"type": "message_start", "message": start}, "message_start"),
               sse({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}}, "content_block_start"),
               sse({"type": "ping"}, "ping")]
        for piece in pieces(text):
            out.append(sse({"type": "content_block_delta", "index": 0,
                            "delta": {"type": "text_delta", "text": piece}},
                           "content_block_delta"))
        out.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        out.append(sse({"type": "message_delta",
                        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                        "usage": {"output_tokens": usage["output_tokens"]}}, "message_delta"))
        out.append(sse({"type": "message_stop"}, "message_stop"))
        return out

    def error_json(self, status: int, message: str) -> dict[str, Any]:
        kind = ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
