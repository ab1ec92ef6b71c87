"""A loopback server speaking Google's Gemini generateContent API (JSON and SSE).

    with GeminiServer(["Hello"]) as srv:
        client = genai.Client(api_key="x", http_options={"base_url": srv.base_url})

Routes: POST /{version}/models/{model}:generateContent and :streamGenerateContent?alt=sse.
`usageMetadata` reports prompt, candidates, total and (when set) thoughts token counts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ._base import Fault, ReplyFn, WireServer, estimate, pieces, sse

__all__ = ["Fault", "GeminiServer", "ReplyFn"]

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def _parts_text(content: dict[str, Any] | None) -> str:
    parts = (content or {}).get("parts") or []
    return "\n".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


class GeminiServer(WireServer):
    """A Gemini server for tests. `thoughts_tokens` adds reasoning tokens to every reply."""

    url_suffix: ClassVar[str] = ""

    def __init__(self, *args: Any, thoughts_tokens: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.thoughts_tokens = thoughts_tokens

    def route(self, path: str, body: dict[str, Any]) -> bool:
        route = path.split("?")[0]
        return "/models/" in route and route.endswith(
            (":generateContent", ":streamGenerateContent"))

    def is_stream(self, path: str, body: dict[str, Any]) -> bool:
        return ":streamGenerateContent" in path

    def model_of(self, path: str) -> str:
        return path.split("?")[0].split("/models/")[-1].split(":")[0]

    def prompt_text(self, body: dict[str, Any]) -> str:
        system = body.get("systemInstruction") or body.get("system_instruction")
        texts = [_parts_text(system)] if system else []
        texts.extend(_parts_text(c) for c in body.get("contents", []))
        return "\n".join(texts)

    def usage(self, body: dict[str, Any], text: str) -> dict[str, int]:
        prompt = estimate(self.prompt_text(body))
        out = estimate(text)
        meta = {"promptTokenCount": prompt, "candidatesTokenCount": out,
                "totalTokenCount": prompt + out + self.thoughts_tokens}
        if self.thoughts_tokens:
            meta["thoughtsTokenCount"] = self.thoughts_tokens
        return meta

    def _chunk(self, path: str, text: str, finish: str | None,
               usage: dict[str, int] | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]},
                                     "index": 0}
        if finish:
            candidate["finishReason"] = finish
        chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": self.model_of(path)}
        if usage:
            chunk["usageMetadata"] = usage
        return chunk

    def reply_json(self, path: str, body: dict[str, Any], text: str) -> dict[str, Any]:
        return self._chunk(path, text, "STOP", self.usage(body, text))

    def stream_chunks(self, path: str, body: dict[str, Any], text: str) -> list[bytes]:
        parts = pieces(text)
        usage = self.usage(body, text)
        return [sse(self._chunk(path, piece, "STOP" if i == len(parts) - 1 else None,
                                usage if i == len(parts) - 1 else None))
                for i, piece in enumerate(parts)]

    def error_json(self, status: int, message: str) -> dict[str, Any]:
        return {"error": {"code": status, "message": message,
                          "status": STATUS_NAMES.get(status, "UNKNOWN")}}
