"""Google Gemini's generateContent on the official `google-genai` SDK (extra: `gemini`).

The system prompt goes in `system_instruction`; turns use the roles "user" and "model".
Usage comes from `usage_metadata`: prompt (cached content included), candidates plus
thoughts as output, thoughts as reasoning tokens, cached content as cached tokens.
"""

from __future__ import annotations

from typing import Any

from ..errors import ProviderError
from ._support import (
    LoopLocal,
    chat_turns,
    parse_retry_after,
    require,
    status_error,
    transport_error,
)
from .base import Completion, CompletionOptions, Message, Usage
from .base_provider import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    NATIVE_KEYS,
    BaseProvider,
)
from .pricing import Price


class GeminiProvider(BaseProvider):
    """A Gemini model through the Gemini Developer API (or any server speaking its wire).

    Timeout: 120 s a request (`timeout_s`); the SDK has no separate connect timeout.
    """

    provider = "gemini"
    key_env = NATIVE_KEYS["gemini"]

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        context_window: int | None = 1_048_576,
        price: Price | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_retries: int = 2,
        api_version: str | None = None,
        default_headers: dict[str, str] | None = None,
        free: bool | None = None,
    ) -> None:
        genai = require("google.genai", "google-genai", "gemini", "the Gemini provider")
        self._types = require("google.genai.types", "google-genai", "gemini", "the Gemini provider")
        self._errors = require("google.genai.errors", "google-genai", "gemini",
                               "the Gemini provider")
        super().__init__(model, base_url=base_url, context_window=context_window, price=price,
                         free=free, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)
        key = self.get_key(api_key, env=(api_key_env,) if api_key_env else None,
                           required=base_url is None)
        http: dict[str, Any] = {
            "timeout": int(self.timeout_s * 1000),
            "retry_options": self._types.HttpRetryOptions(attempts=max_retries + 1),
        }
        if base_url:
            http["base_url"] = base_url
        if api_version:
            http["api_version"] = api_version
        if default_headers:
            http["headers"] = default_headers
        options = self._types.HttpOptions(**http)
        self._clients: LoopLocal[Any] = LoopLocal(
            lambda: genai.Client(api_key=key or "not-needed", http_options=options)
        )

    def build_request(self, messages: list[Message], options: CompletionOptions) -> dict[str, Any]:
        """The generateContent arguments: contents, and a config with the system prompt."""
        system, pairs = chat_turns(messages)
        contents: list[dict[str, Any]] = [
            {"role": "model" if role == "assistant" else "user", "parts": [{"text": text}]}
            for role, text in pairs
        ]
        config: dict[str, Any] = {}
        if system:
            config["system_instruction"] = system
        if options.temperature is not None:
            config["temperature"] = options.temperature
        if options.max_tokens is not None:
            config["max_output_tokens"] = options.max_tokens
        if options.stop:
            config["stop_sequences"] = options.stop
        if options.timeout_s is not None:
            config["http_options"] = {"timeout": int(options.timeout_s * 1000)}
        config.update(options.extra)
        return {"model": self.model, "contents": contents, "config": config or None}

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        request = self.build_request(messages, options)
        client = self._clients.get()
        try:
            if options.on_token is not None:
                return await self._stream(client, request, options)
            response = await client.aio.models.generate_content(**request)
            text, finish = _text(response)
            if finish is None:
                raise ProviderError(f"{self.name} returned no candidates", retryable=True)
            usage = _usage(response.usage_metadata)
            model = getattr(response, "model_version", None) or self.model
            return Completion(text, usage, model, finish, self._cost(usage))
        except ProviderError:
            raise
        except self._errors.APIError as exc:
            raise self._translate(exc) from exc
        except Exception as exc:
            raise transport_error(self.name, self.base_url, exc) from exc

    async def _stream(self, client: Any, request: dict[str, Any],
                      options: CompletionOptions) -> Completion:
        assert options.on_token is not None
        parts: list[str] = []
        usage = Usage()
        finish: str | None = None
        model = self.model
        async for chunk in await client.aio.models.generate_content_stream(**request):
            text, reason = _text(chunk)
            if text:
                parts.append(text)
                options.on_token(text)
            finish = reason or finish
            if chunk.usage_metadata is not None:
                usage = _usage(chunk.usage_metadata)
            model = getattr(chunk, "model_version", None) or model
        if finish is None:
            raise ProviderError(f"{self.name}: the stream ended before it finished",
                                retryable=True)
        return Completion("".join(parts), usage, model, finish, self._cost(usage))

    def _translate(self, exc: Any) -> ProviderError:
        status = getattr(exc, "code", None)
        headers = getattr(getattr(exc, "response", None), "headers", None)
        detail = getattr(exc, "message", None) or str(exc)
        return status_error(self.name, status, str(detail),
                            retry_after=parse_retry_after(headers))

    async def aclose(self) -> None:
        client = self._clients.pop_current()
        if client is not None:
            close = getattr(client.aio, "aclose", None)
            if close is not None:
                await close()


def _text(response: Any) -> tuple[str, str | None]:
    """The answer text (thought parts left out) and the finish reason, if any."""
    candidates = getattr(response, "candidates", None) or []
    if not candidates:
        return "", None
    first = candidates[0]
    parts = getattr(getattr(first, "content", None), "parts", None) or []
    text = "".join(p.text for p in parts if getattr(p, "text", None) and not getattr(p, "thought", False))
    reason = getattr(first, "finish_reason", None)
    finish = getattr(reason, "value", reason) if reason is not None else None
    return text, (str(finish) if finish is not None else None)


def _usage(meta: Any) -> Usage:
    if meta is None:
        return Usage()
    thoughts = getattr(meta, "thoughts_token_count", None) or 0
    return Usage(
        input_tokens=getattr(meta, "prompt_token_count", None) or 0,
        output_tokens=(getattr(meta, "candidates_token_count", None) or 0) + thoughts,
        cached_tokens=getattr(meta, "cached_content_token_count", None) or 0,
        reasoning_tokens=thoughts,
    )
