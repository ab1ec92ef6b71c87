"""Anthropic's Messages API on the official `anthropic` SDK (extra: `anthropic`).

The system prompt travels separately; consecutive same-role messages are merged (the API
wants alternating turns). Prompt caching marks the stable prefix (the system prompt and the
first user message) with `cache_control`, so later turns of a run re-read it at the cached
rate. Usage reports cache reads as cached tokens and cache writes separately. Newer models
reject `temperature` (Opus 4.7 and later, Sonnet 5 and later): it is not sent to those, and a
model that answers 400 about it is asked again without it.
"""

from __future__ import annotations

from typing import Any

from ..errors import ProviderError, ProviderResponseError
from ._support import (
    LoopLocal,
    chat_turns,
    parse_retry_after,
    require,
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

DEFAULT_MAX_TOKENS = 8192
CACHE = {"type": "ephemeral"}
#: Model families that answer 400 "temperature is deprecated for this model".
NO_TEMPERATURE = ("claude-opus-4-7", "claude-opus-4-8", "claude-opus-5", "claude-sonnet-5")


class AnthropicProvider(BaseProvider):
    """A Claude model through the Messages API. Timeouts: 120 s a request, 10 s to connect
    (`timeout_s`, `connect_timeout_s`; see `BaseProvider`)."""

    provider = "anthropic"
    key_env = NATIVE_KEYS["anthropic"]

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str = "ANTHROPIC_API_KEY",
        context_window: int | None = 200_000,
        price: Price | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_retries: int = 2,
        prompt_caching: bool = True,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        default_headers: dict[str, str] | None = None,
        free: bool | None = None,
    ) -> None:
        sdk = require("anthropic", "anthropic", "anthropic", "the Anthropic provider")
        super().__init__(model, base_url=base_url, context_window=context_window, price=price,
                         free=free, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)
        self._sdk = sdk
        self.prompt_caching = prompt_caching
        self.default_max_tokens = default_max_tokens
        self.send_temperature = not model.startswith(NO_TEMPERATURE)
        key = self.get_key(api_key, env=(api_key_env,), required=base_url is None)
        kwargs: dict[str, Any] = {"api_key": key or "not-needed",
                                  "timeout": self.http_timeout(sdk.Timeout), "max_retries": max_retries}
        if base_url:
            kwargs["base_url"] = base_url
        if default_headers:
            kwargs["default_headers"] = default_headers
        self._clients: LoopLocal[Any] = LoopLocal(lambda: sdk.AsyncAnthropic(**kwargs))

    def build_request(self, messages: list[Message], options: CompletionOptions) -> dict[str, Any]:
        """The Messages API request for `messages` (system split out, cache marks set)."""
        system, pairs = chat_turns(messages)
        turns: list[dict[str, Any]] = [
            {"role": role, "content": [{"type": "text", "text": text}]} for role, text in pairs
        ]
        if not turns or turns[0]["role"] != "user":
            turns.insert(0, {"role": "user", "content": [{"type": "text", "text": "Begin."}]})
        request: dict[str, Any] = {
            "model": self.model,
            "messages": turns,
            "max_tokens": options.max_tokens or self.default_max_tokens,
        }
        if system:
            request["system"] = [{"type": "text", "text": system}]
        if self.prompt_caching:
            if system:
                request["system"][0]["cache_control"] = CACHE
            turns[0]["content"][0]["cache_control"] = CACHE
        if options.stop:
            request["stop_sequences"] = options.stop
        if options.timeout_s is not None:
            request["timeout"] = self.http_timeout(self._sdk.Timeout, options.timeout_s)
        body = dict(options.extra)
        if options.temperature is not None and self.send_temperature:
            # Sent in the body: newer SDK releases dropped the keyword, the API still takes it.
            body.setdefault("temperature", options.temperature)
        if body:
            request["extra_body"] = body
        return request

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        completion: Completion = await retry_without_temperature(
            self, self._complete, messages, options)
        return completion

    async def _complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        request = self.build_request(messages, options)
        client = self._clients.get()
        sdk = self._sdk
        try:
            if options.on_token is not None:
                return await self._stream(client, request, options)
            response = await client.messages.create(**request)
            text = "".join(
                getattr(block, "text", "") for block in response.content
                if getattr(block, "type", "") == "text"
            )
            usage = _usage(response.usage)
            return Completion(text, usage, response.model or self.model,
                              response.stop_reason, self._cost(usage))
        except ProviderError:
            raise
        except sdk.APIError as exc:
            raise self._translate(exc) from exc
        except Exception as exc:
            raise transport_error(self.name, self.base_url, exc) from exc

    async def _stream(self, client: Any, request: dict[str, Any],
                      options: CompletionOptions) -> Completion:
        assert options.on_token is not None
        stream = await client.messages.create(**request, stream=True)
        parts: list[str] = []
        usage = Usage()
        model = self.model
        stop: str | None = None
        finished = False
        async for event in stream:
            kind = getattr(event, "type", "")
            if kind == "message_start":
                model = event.message.model or model
                usage = _usage(event.message.usage)
            elif kind == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
                parts.append(event.delta.text)
                options.on_token(event.delta.text)
            elif kind == "message_delta":
                stop = event.delta.stop_reason or stop
                out = getattr(event.usage, "output_tokens", None)
                if out is not None:
                    usage.output_tokens = out
            elif kind == "message_stop":
                finished = True
        if not finished:
            raise ProviderError(f"{self.name}: the stream ended before message_stop",
                                retryable=True)
        return Completion("".join(parts), usage, model, stop, self._cost(usage))

    def _translate(self, exc: Any) -> ProviderError:
        sdk = self._sdk
        if isinstance(exc, sdk.APITimeoutError):
            return timed_out(self.name, exc, self.base_url)
        if isinstance(exc, sdk.APIConnectionError):
            return unreachable(self.name, self.base_url, exc)
        status = getattr(exc, "status_code", None)
        if status is None:
            return ProviderResponseError(f"{self.name} sent a malformed response: {exc}",
                                         retryable=True)
        headers = getattr(getattr(exc, "response", None), "headers", None)
        return status_error(self.name, status, str(exc), retry_after=parse_retry_after(headers))

    async def aclose(self) -> None:
        client = self._clients.pop_current()
        if client is not None:
            await client.close()


def _usage(raw: Any) -> Usage:
    """Anthropic's input_tokens exclude cache reads and writes; ours include them."""
    if raw is None:
        return Usage()
    read = getattr(raw, "cache_read_input_tokens", None) or 0
    write = getattr(raw, "cache_creation_input_tokens", None) or 0
    plain = getattr(raw, "input_tokens", None) or 0
    details = getattr(raw, "output_tokens_details", None)
    reasoning = 0
    for attr in ("thinking_tokens", "reasoning_tokens"):
        reasoning = reasoning or (getattr(details, attr, None) or 0)
    return Usage(
        input_tokens=plain + read + write,
        output_tokens=getattr(raw, "output_tokens", None) or 0,
        cached_tokens=read,
        reasoning_tokens=reasoning,
        cache_write_tokens=write,
    )
