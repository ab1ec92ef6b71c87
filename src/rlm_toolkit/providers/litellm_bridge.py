"""The long tail (Bedrock, Vertex AI, watsonx, SageMaker, ...) through LiteLLM (extra: `litellm`).

"litellm/bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0" calls
`litellm.acompletion(model="bedrock/...")` with LiteLLM's own credentials handling (AWS,
GCP, IBM variables). LiteLLM's retries are turned off when the toolkit's resilience wraps it.
LiteLLM's download of its price map at import is turned off (LITELLM_LOCAL_MODEL_COST_MAP,
unless set otherwise): the toolkit prices calls itself and makes no request the user did not ask for.
"""

from __future__ import annotations

import os
from typing import Any, cast

from ..errors import ProviderError
from ._support import parse_retry_after, require, status_error, transport_error
from .base import Completion, CompletionOptions, Message, Usage
from .base_provider import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S, BaseProvider
from .pricing import Price, lookup


class LiteLLMProvider(BaseProvider):
    """Any model LiteLLM can reach, as a toolkit provider. LiteLLM finds the credentials
    itself (AWS, GCP, IBM variables); `api_key` overrides them. Timeout: 120 s a request."""

    provider = "litellm"
    key_env = ()

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        context_window: int | None = None,
        price: Price | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_retries: int = 2,
        extra: dict[str, Any] | None = None,
        free: bool | None = None,
    ) -> None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        self._litellm = cast(Any, require("litellm", "litellm", "litellm", "the LiteLLM bridge"))
        self._litellm.suppress_debug_info = True  # our errors explain; no banner
        if price is None:
            price = lookup(f"litellm/{model}") or lookup(model)
        super().__init__(model, base_url=base_url, context_window=context_window, price=price,
                         free=free, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)
        self.api_key = self.get_key(api_key, required=False)
        self.max_retries = max_retries
        self._extra = extra or {}

    def build_request(self, messages: list[Message], options: CompletionOptions) -> dict[str, Any]:
        """The `litellm.acompletion` keyword arguments."""
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "timeout": options.timeout_s or self.timeout_s,
            "num_retries": self.max_retries,
            "drop_params": True,  # leave out what the model does not take (e.g. temperature)
            **self._extra,
            **options.extra,
        }
        if self.base_url:
            request["api_base"] = self.base_url
        if self.api_key:
            request["api_key"] = self.api_key
        if options.temperature is not None:
            request["temperature"] = options.temperature
        if options.max_tokens is not None:
            request["max_tokens"] = options.max_tokens
        if options.stop:
            request["stop"] = options.stop
        return request

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        request = self.build_request(messages, options)
        try:
            if options.on_token is not None:
                return await self._stream(request, options)
            response = await self._litellm.acompletion(**request)
            choice = response.choices[0]
            usage = _usage(getattr(response, "usage", None))
            return Completion(choice.message.content or "", usage,
                              getattr(response, "model", None) or self.model,
                              choice.finish_reason, self._cost(usage))
        except ProviderError:
            raise
        except Exception as exc:
            raise self._translate(exc) from exc

    async def _stream(self, request: dict[str, Any], options: CompletionOptions) -> Completion:
        assert options.on_token is not None
        stream = await self._litellm.acompletion(
            **request, stream=True, stream_options={"include_usage": True}
        )
        parts: list[str] = []
        usage = Usage()
        finish: str | None = None
        async for chunk in stream:
            if getattr(chunk, "usage", None):
                usage = _usage(chunk.usage)
            for choice in getattr(chunk, "choices", None) or []:
                piece = getattr(choice.delta, "content", None) or ""
                if piece:
                    parts.append(piece)
                    options.on_token(piece)
                finish = choice.finish_reason or finish
        if finish is None:
            raise ProviderError(f"{self.name}: the stream ended before it finished",
                                retryable=True)
        return Completion("".join(parts), usage, self.model, finish, self._cost(usage))

    def _translate(self, exc: Exception) -> ProviderError:
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and status >= 400:
            headers = getattr(getattr(exc, "response", None), "headers", None)
            return status_error(self.name, status, str(exc),
                                retry_after=parse_retry_after(headers))
        return transport_error(self.name, self.base_url, exc)

    async def aclose(self) -> None:
        return None


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    details = getattr(raw, "prompt_tokens_details", None)
    out_details = getattr(raw, "completion_tokens_details", None)
    return Usage(
        input_tokens=getattr(raw, "prompt_tokens", None) or 0,
        output_tokens=getattr(raw, "completion_tokens", None) or 0,
        cached_tokens=getattr(details, "cached_tokens", None) or 0,
        reasoning_tokens=getattr(out_details, "reasoning_tokens", None) or 0,
    )
