"""OpenAI-compatible chat completions on the official `openai` SDK.

Reaches OpenAI itself and every server that speaks its wire (vLLM, llama.cpp, Ollama /v1,
gateways, test servers on loopback). No client-side throttling; no key needed for local servers.
"""

from __future__ import annotations

from typing import Any

import openai

from ..errors import ProviderError, ProviderResponseError
from ._support import (
    LoopLocal,
    parse_retry_after,
    retry_without_temperature,
    status_error,
    timed_out,
    transport_error,
    unreachable,
)
from .base import Completion, CompletionOptions, Message, Usage
from .base_provider import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    NATIVE_KEYS,
    BaseProvider,
)
from .pricing import Price

NO_KEY = "not-needed"


class OpenAICompatibleProvider(BaseProvider):
    """A chat model behind an OpenAI-compatible endpoint.

    `free=True` marks a self-hosted server (cost $0 wherever it runs), `free=False` a gateway
    that bills (cost from the price table even on loopback); by default loopback URLs are free.
    `require_key=True` refuses to start without a key even with a base_url. A model that
    rejects `temperature` (OpenAI's reasoning models take only the default) is asked again
    without it, and never sent one again. Timeouts: 120 s a request, 10 s to connect
    (`timeout_s`, `connect_timeout_s`; see `BaseProvider`).
    """

    provider = "openai"
    key_env = NATIVE_KEYS["openai"]

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        provider: str = "openai",
        context_window: int | None = None,
        price: Price | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_retries: int = 2,
        default_headers: dict[str, str] | None = None,
        extra_body: dict[str, Any] | None = None,
        free: bool | None = None,
        require_key: bool | None = None,
    ) -> None:
        super().__init__(model, base_url=base_url, context_window=context_window, price=price,
                         free=free, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s,
                         provider=provider)
        needs_key = require_key if require_key is not None else base_url is None
        key = self.get_key(api_key, env=(api_key_env,) if api_key_env else (),
                           required=needs_key)
        self._extra_body = extra_body or {}
        self.send_temperature = True
        #: Send `response_format` (structured outputs) when a call has a JSON schema; turned
        #: off for this provider after a server refuses it.
        self.structured_output = True
        kwargs: dict[str, Any] = {
            "api_key": key or NO_KEY,
            "base_url": base_url,
            "timeout": self.http_timeout(openai.Timeout),
            "max_retries": max_retries,
            "default_headers": default_headers,
        }
        self._clients: LoopLocal[openai.AsyncOpenAI] = LoopLocal(
            lambda: openai.AsyncOpenAI(**kwargs)
        )

    @property
    def _client(self) -> openai.AsyncOpenAI:
        """One SDK client per event loop: an HTTP pool cannot be shared across loops."""
        return self._clients.get()

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        try:
            completion: Completion = await retry_without_temperature(
                self, self._complete, messages, options)
        except ProviderError as exc:
            if options.json_schema is None or not self.structured_output \
                    or not _refuses_structured(exc):
                raise
            self.structured_output = False  # the schema stays in the prompt; the host checks
            completion = await retry_without_temperature(self, self._complete, messages, options)
        return completion

    async def _complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        if options.temperature is not None and self.send_temperature:
            kwargs["temperature"] = options.temperature
        if options.max_tokens is not None:
            kwargs["max_tokens"] = options.max_tokens
        if options.stop:
            kwargs["stop"] = options.stop
        if options.timeout_s is not None:
            kwargs["timeout"] = self.http_timeout(openai.Timeout, options.timeout_s)
        if options.json_schema is not None and self.structured_output:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "reply", "schema": options.json_schema}}
        extra = {**self._extra_body, **options.extra}
        if extra:
            kwargs["extra_body"] = extra
        try:
            if options.on_token is not None:
                return await self._stream(kwargs, options)
            response = await self._client.chat.completions.create(**kwargs)
            if not getattr(response, "choices", None):
                raise ProviderError(f"{self.name} returned no choices", retryable=True)
            choice = response.choices[0]
            usage = _usage(response.usage)
            return Completion(
                text=choice.message.content or "",
                usage=usage,
                model=response.model or self.model,
                finish_reason=choice.finish_reason,
                cost=self._cost(usage),
            )
        except ProviderError:
            raise
        except openai.APIError as exc:
            raise self._translate(exc) from exc
        except Exception as exc:
            raise transport_error(self.name, self.base_url, exc) from exc

    async def _stream(self, kwargs: dict[str, Any], options: CompletionOptions) -> Completion:
        assert options.on_token is not None
        stream = await self._client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        parts: list[str] = []
        usage = Usage()
        finish: str | None = None
        model = self.model
        async for chunk in stream:
            model = chunk.model or model
            if chunk.usage is not None:
                usage = _usage(chunk.usage)
            for choice in chunk.choices:
                delta = choice.delta.content or "" if choice.delta else ""
                if delta:
                    parts.append(delta)
                    options.on_token(delta)
                finish = choice.finish_reason or finish
        if finish is None:
            raise ProviderError(f"{self.name}: the stream ended before it finished", retryable=True)
        return Completion("".join(parts), usage, model, finish, self._cost(usage))

    def _translate(self, exc: openai.APIError) -> ProviderError:
        if isinstance(exc, openai.APITimeoutError):
            return timed_out(self.name, exc, self.base_url)
        if isinstance(exc, openai.APIConnectionError):
            return unreachable(self.name, self.base_url, exc)
        status = getattr(exc, "status_code", None)
        response = getattr(exc, "response", None)
        retry_after = parse_retry_after(getattr(response, "headers", None))
        if status is None:  # a body the SDK could not read: treat as a transient glitch
            return ProviderResponseError(f"{self.name} sent a malformed response: {exc}",
                                         retryable=True)
        return status_error(self.name, status, str(exc), retry_after=retry_after)

    async def aclose(self) -> None:
        client = self._clients.pop_current()
        if client is not None:
            await client.close()


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    cached = getattr(getattr(raw, "prompt_tokens_details", None), "cached_tokens", None) or 0
    reasoning = (
        getattr(getattr(raw, "completion_tokens_details", None), "reasoning_tokens", None) or 0
    )
    return Usage(
        input_tokens=raw.prompt_tokens or 0,
        output_tokens=raw.completion_tokens or 0,
        cached_tokens=cached,
        reasoning_tokens=reasoning,
    )


def _refuses_structured(exc: ProviderError) -> bool:
    """A 400/422 that names the structured-output request: the server does not support it."""
    text = str(exc).lower()
    return getattr(exc, "status", None) in (400, 422) and (
        "response_format" in text or "json_schema" in text)
