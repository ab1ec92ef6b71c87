"""Turn "provider/model" strings into provider objects.

One way to name a model everywhere: "openai/gpt-4o-mini", "ollama/llama3",
"local/qwen2.5-coder-1.5b". Every factory takes `base_url` and `api_key`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from .base import Provider

Factory = Callable[..., Provider]


def _openai(model: str, **kw: Any) -> Provider:
    from .openai_compat import OpenAICompatibleProvider

    return OpenAICompatibleProvider(model, **kw)


def ollama_base_url() -> str:
    """Ollama's address from OLLAMA_HOST, defaulting to 127.0.0.1:11434."""
    host = os.environ.get("OLLAMA_HOST", "127.0.0.1:11434").rstrip("/")
    if "://" not in host:
        host = "http://" + host
    return host


def _ollama(model: str, *, base_url: str | None = None, **kw: Any) -> Provider:
    from .openai_compat import OpenAICompatibleProvider

    url = (base_url or ollama_base_url()).rstrip("/")
    if not url.endswith("/v1"):
        url += "/v1"
    return OpenAICompatibleProvider(model, base_url=url, provider="ollama", **kw)


FACTORIES: dict[str, Factory] = {
    "openai": _openai,
    "ollama": _ollama,
}


def known_providers() -> list[str]:
    """Every provider prefix that `resolve` accepts."""
    return sorted(FACTORIES)


def split_spec(spec: str) -> tuple[str, str]:
    """Split "provider/model" into its parts; the model may itself contain slashes."""
    provider, sep, model = spec.partition("/")
    if not sep or not provider or not model:
        raise ConfigError(
            f"model {spec!r} is not of the form 'provider/model', for example "
            "'openai/gpt-4o-mini' or 'ollama/llama3'"
        )
    return provider.lower(), model


def resolve(spec: str | Provider, **kwargs: Any) -> Provider:
    """A provider object for `spec`; provider objects pass through unchanged."""
    if not isinstance(spec, str):
        if not isinstance(spec, Provider):
            raise ConfigError(
                f"expected a 'provider/model' string or a Provider, got {type(spec).__name__}"
            )
        return spec
    provider, model = split_spec(spec)
    factory = FACTORIES.get(provider)
    if factory is None:
        raise ConfigError(
            f"unknown provider {provider!r} in {spec!r}. Known: {', '.join(known_providers())}. "
            "For any other OpenAI-compatible server use 'openai/MODEL' with base_url=..."
        )
    clean = {k: v for k, v in kwargs.items() if v is not None}
    return factory(model, **clean)
