"""The OpenAI chat-completions wire: checking requests, shaping replies, chunks and errors."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..providers.base import Message, Usage


class WireError(Exception):
    """A request the server refuses, as OpenAI says it: HTTP status, message, type, param."""

    def __init__(self, status: int, message: str, *, kind: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = (
            status, message, kind, param, code)

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param,
                          "code": self.code}}


@dataclass(frozen=True)
class ChatRequest:
    """A checked /v1/chat/completions request."""

    model: str
    messages: list[Message]
    stream: bool
    include_usage: bool
    user: str | None
    max_tokens: int | None
    temperature: float | None


def _text_of(content: Any, index: int) -> str:
    """A message's content as text: a string, or a list of {"type": "text", "text": ...} parts."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise WireError(400, f"messages[{index}].content: each part must be an object "
                                "with a type", param=f"messages[{index}].content")
            if part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    raise WireError(400, f"messages[{index}].content: a text part needs a "
                                    "string text", param=f"messages[{index}].content")
                texts.append(part["text"])
        return "\n".join(texts)
    raise WireError(400, f"messages[{index}].content must be a string or a list of parts, got "
                    f"{type(content).__name__}", param=f"messages[{index}].content")


def parse_request(raw: bytes) -> ChatRequest:
    """The request's fields, checked; WireError (400) says which one is wrong."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise WireError(400, f"the request body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise WireError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise WireError(400, "model is required: a string such as \"rlm\"", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise WireError(400, "messages is required: a non-empty list of {role, content}",
                        param="messages")
    checked: list[Message] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise WireError(400, f"messages[{i}] must be an object with role and content",
                            param=f"messages[{i}]")
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise WireError(400, f"messages[{i}].role must be one of system, user, assistant, "
                            f"tool; got {role!r}", param=f"messages[{i}].role")
        text = _text_of(message.get("content"), i)
        if role in ("system", "developer"):
            checked.append({"role": "system", "content": text})
        elif role == "assistant":
            checked.append({"role": "assistant", "content": text})
        else:  # a tool's result reaches the model as user text
            checked.append({"role": "user", "content": text if role == "user" else
                            f"[tool result]\n{text}"})
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise WireError(400, "stream must be true or false", param="stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise WireError(400, "stream_options must be an object", param="stream_options")
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise WireError(400, "user must be a string", param="user")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (isinstance(max_tokens, bool)
                                   or not isinstance(max_tokens, int) or max_tokens < 1):
        raise WireError(400, "max_tokens must be a positive integer", param="max_tokens")
    temperature = body.get("temperature")
    if temperature is not None and (isinstance(temperature, bool)
                                    or not isinstance(temperature, (int, float))):
        raise WireError(400, "temperature must be a number", param="temperature")
    return ChatRequest(model, checked, stream, options.get("include_usage") is True, user,
                       max_tokens, None if temperature is None else float(temperature))


def usage_body(usage: Usage) -> dict[str, Any]:
    return {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_tokens}}


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def completion_body(cid: str, model: str, text: str, usage: Usage, finish: str,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": finish, "logprobs": None}],
        "usage": usage_body(usage),
    }
    if extra:
        body["rlm"] = extra
    return body


def chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None,
          usage: Usage | None = None, choices: bool = True) -> str:
    """One server-sent event of a streamed completion."""
    body: dict[str, Any] = {
        "id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        if choices else [],
    }
    if usage is not None:
        body["usage"] = usage_body(usage)
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
