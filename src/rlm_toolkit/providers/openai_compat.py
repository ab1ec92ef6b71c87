"""OpenAI-compatible chat completions on the official `openai` SDK.

Reaches OpenAI itself and every server that speaks its wire (vLLM, llama.cpp, Ollama /v1,
gateways, test servers on loopback). No client-side throttling; no key needed for local servers.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import openai

from ..errors import AuthenticationError, ProviderError, ProviderUnreachable
from .base import Completion, CompletionOptions, Message, Usage
from .pricing import Price, cost_of, is_loopback, lookup

NO_KEY = "not-needed"


class OpenAICompatibleProvider:
    """A chat model behind an OpenAI-compatible endpoint."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        provider: str = "openai",
        context_window: int | None = None,
        price: Price | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 2,
        default_headers: dict[str, str] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.provider = provider
        self.base_url = base_url
        self._context_window = context_window
        self._free = is_loopback(base_url)
        self._price = price if price is not None else lookup(f"{provider}/{model}")
        key = api_key or os.environ.get(api_key_env) or None
        if key is None and base_url is None:
            raise AuthenticationError(
                f"No API key for {provider}: set {api_key_env} or pass api_key=..., "
                "or pass base_url=... to reach a local server that needs none"
            )
        self._extra_body = extra_body or {}
        self._client_kwargs: dict[str, Any] = {
            "api_key": key or NO_KEY,
            "base_url": base_url,
            "timeout": timeout_s,
            "max_retries": max_retries,
            "default_headers": default_headers,
        }
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, openai.AsyncOpenAI]] = {}

    @property
    def _client(self) -> openai.AsyncOpenAI:
        """One SDK client per event loop: an HTTP pool cannot be shared across loops."""
        loop = asyncio.get_running_loop()
        entry = self._clients.get(id(loop))
        if entry is None or entry[0] is not loop:
            for key in [k for k, (lp, _) in self._clients.items() if lp.is_closed()]:
                del self._clients[key]
            entry = (loop, openai.AsyncOpenAI(**self._client_kwargs))
            self._clients[id(loop)] = entry
        return entry[1]

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"

    @property
    def context_window(self) -> int | None:
        return self._context_window

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        if options.temperature is not None:
            kwargs["temperature"] = options.temperature
        if options.max_tokens is not None:
            kwargs["max_tokens"] = options.max_tokens
        if options.stop:
            kwargs["stop"] = options.stop
        if options.timeout_s is not None:
            kwargs["timeout"] = options.timeout_s
        extra = {**self._extra_body, **options.extra}
        if extra:
            kwargs["extra_body"] = extra
        try:
            if options.on_token is not None:
                return await self._stream(kwargs, options)
            response = await self._client.chat.completions.create(**kwargs)
        except openai.APIError as exc:
            raise self._translate(exc) from exc
        if not response.choices:
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
                delta = choice.delta.content or ""
                if delta:
                    parts.append(delta)
                    options.on_token(delta)
                finish = choice.finish_reason or finish
        if finish is None:
            raise ProviderError(f"{self.name}: the stream ended before it finished", retryable=True)
        return Completion("".join(parts), usage, model, finish, self._cost(usage))

    def _cost(self, usage: Usage) -> float | None:
        return 0.0 if self._free else cost_of(usage, self._price)

    def _translate(self, exc: openai.APIError) -> ProviderError:
        where = self.base_url or "the provider"
        if isinstance(exc, openai.APIConnectionError):
            return ProviderUnreachable(
                f"cannot reach {self.name} at {where}: {str(exc).rstrip('.')}. Is the server running and the "
                "base_url right?",
                retryable=True,
            )
        if isinstance(exc, openai.AuthenticationError):
            return AuthenticationError(
                f"{self.name} rejected the API key (401): check the key or its variable", status=401
            )
        status = getattr(exc, "status_code", None)
        retryable = status in (408, 409, 429) or (status is not None and status >= 500)
        return ProviderError(f"{self.name} failed ({status}): {exc}", retryable=retryable, status=status)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        entry = self._clients.pop(id(loop), None)
        if entry is not None:
            await entry[1].close()


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
