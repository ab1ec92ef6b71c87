"""Ollama's native /api/chat on the official `ollama` client (extra: `ollama`).

Ollama's default window is small (a few thousand tokens) and it silently drops the start of
a longer prompt. This provider therefore sets `options.num_ctx` on every call to a window
large enough for the prompt plus the reply (rounded up, never below `min_num_ctx`), and
refuses a prompt larger than the model's window with a clear error instead of truncating.
Local models cost $0; `prompt_eval_count` and `eval_count` are the usage.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ProviderError
from ._support import LoopLocal, require, status_error, transport_error
from .base import Completion, CompletionOptions, Message, Usage
from .base_provider import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S, BaseProvider

DEFAULT_HOST = "127.0.0.1:11434"
CHARS_PER_TOKEN = 3  # conservative: code and non-English text run below 4 characters a token


def ollama_base_url() -> str:
    """Ollama's address from OLLAMA_HOST, defaulting to http://127.0.0.1:11434."""
    host = os.environ.get("OLLAMA_HOST", DEFAULT_HOST).strip().rstrip("/") or DEFAULT_HOST
    if "://" not in host:
        host = "http://" + host
    return host


def window_for(messages: list[Message], reply_tokens: int, *, minimum: int = 8192,
               step: int = 2048) -> int:
    """A num_ctx that holds the prompt (estimated conservatively) and the reply."""
    prompt = sum(len(m["content"]) // CHARS_PER_TOKEN + 8 for m in messages)
    need = prompt + reply_tokens + 256
    return max(minimum, -(-need // step) * step)


class OllamaProvider(BaseProvider):
    """A model served by Ollama, through its native chat API. Free; no key needed (one given
    is sent as a bearer token, for a proxy). Timeouts: 120 s a request, 10 s to connect
    (`timeout_s`, `connect_timeout_s`; see `BaseProvider`); raise `timeout_s` for a slow
    model on a CPU."""

    provider = "ollama"
    key_env = ()

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        context_window: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_retries: int = 0,
        min_num_ctx: int = 8192,
        reply_tokens: int = 4096,
        keep_alive: str | float | None = None,
        default_headers: dict[str, str] | None = None,
    ) -> None:
        sdk = require("ollama", "ollama", "ollama", "the Ollama provider")
        url = (base_url or ollama_base_url()).rstrip("/")
        url = url[:-3] if url.endswith("/v1") else url
        super().__init__(model, base_url=url, context_window=context_window, free=True,
                         timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)
        self._sdk = sdk
        self.min_num_ctx = min_num_ctx
        self.reply_tokens = reply_tokens
        self.keep_alive = keep_alive
        headers = dict(default_headers or {})
        key = self.get_key(api_key, required=False)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        httpx = require("httpx", "ollama", "ollama", "the Ollama provider")  # ollama's HTTP client
        timeout = self.http_timeout(httpx.Timeout)
        self._clients: LoopLocal[Any] = LoopLocal(
            lambda: sdk.AsyncClient(host=url, timeout=timeout, headers=headers or None)
        )

    def build_request(self, messages: list[Message], options: CompletionOptions) -> dict[str, Any]:
        """The /api/chat arguments, with a num_ctx that fits the whole prompt."""
        reply = options.max_tokens or self.reply_tokens
        opts: dict[str, Any] = {"num_ctx": window_for(messages, reply, minimum=self.min_num_ctx)}
        if self._context_window is not None and opts["num_ctx"] > self._context_window:
            need = opts["num_ctx"]
            if need - reply > self._context_window:
                raise ProviderError(
                    f"{self.name}: the prompt needs about {need - reply} tokens but the model's "
                    f"window is {self._context_window}; split the input into smaller pieces",
                    retryable=False,
                )
            opts["num_ctx"] = self._context_window
        if options.temperature is not None:
            opts["temperature"] = options.temperature
        if options.max_tokens is not None:
            opts["num_predict"] = options.max_tokens
        if options.stop:
            opts["stop"] = options.stop
        opts.update(options.extra.get("options", {}))
        request: dict[str, Any] = {"model": self.model,
                                   "messages": [dict(m) for m in messages], "options": opts}
        if self.keep_alive is not None:
            request["keep_alive"] = self.keep_alive
        return request

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        request = self.build_request(messages, options)
        client = self._clients.get()
        try:
            if options.on_token is not None:
                return await self._stream(client, request, options)
            response = await client.chat(**request, stream=False)
            return self._completion(response, response.message.content or "")
        except ProviderError:
            raise
        except self._sdk.ResponseError as exc:
            raise status_error(self.name, exc.status_code, str(exc.error)) from exc
        except Exception as exc:
            raise transport_error(self.name, self.base_url, exc) from exc

    async def _stream(self, client: Any, request: dict[str, Any],
                      options: CompletionOptions) -> Completion:
        assert options.on_token is not None
        parts: list[str] = []
        last: Any = None
        async for chunk in await client.chat(**request, stream=True):
            piece = chunk.message.content or "" if chunk.message else ""
            if piece:
                parts.append(piece)
                options.on_token(piece)
            last = chunk
        if last is None or not last.done:
            raise ProviderError(f"{self.name}: the stream ended before it finished",
                                retryable=True)
        return self._completion(last, "".join(parts))

    def _completion(self, response: Any, text: str) -> Completion:
        usage = Usage(input_tokens=response.prompt_eval_count or 0,
                      output_tokens=response.eval_count or 0)
        return Completion(text, usage, response.model or self.model,
                          response.done_reason or "stop", self._cost(usage))

    async def aclose(self) -> None:
        client = self._clients.pop_current()
        if client is not None:
            close = getattr(client, "_client", None)
            if close is not None:
                await close.aclose()
