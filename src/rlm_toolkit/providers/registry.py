"""Turn "provider/model" strings into provider objects.

One way to name a model everywhere: "openai/gpt-4o-mini", "anthropic/claude-sonnet-5-5",
"gemini/gemini-2.5-flash", "ollama/llama3", "groq/llama-3.3-70b-versatile",
"litellm/bedrock/...", "local/qwen2.5-coder-1.5b". Every factory takes `base_url` and
`api_key`. `resolve` wraps what it builds in the resilience layer (retries, timeouts,
circuit breaker, bounded concurrency; `resilience=False` opts out), turns a list into a
fallback chain, and adds the on-disk response cache when given `cache=PATH`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .base import Provider
from .base_provider import BaseProvider
from .catalog import CATALOG, Preset, known_window
from .ollama_native import ollama_base_url
from .pricing import lookup

Factory = Callable[..., Provider]

__all__ = ["FACTORIES", "known_providers", "ollama_base_url", "resolve", "split_spec"]


def _openai(model: str, **kw: Any) -> Provider:
    from .openai_compat import OpenAICompatibleProvider

    return OpenAICompatibleProvider(model, **kw)


def _anthropic(model: str, **kw: Any) -> Provider:
    from .anthropic_native import AnthropicProvider

    return AnthropicProvider(model, **kw)


def _gemini(model: str, **kw: Any) -> Provider:
    from .gemini_native import GeminiProvider

    return GeminiProvider(model, **kw)


def _ollama(model: str, **kw: Any) -> Provider:
    from .ollama_native import OllamaProvider

    return OllamaProvider(model, **kw)


def _litellm(model: str, **kw: Any) -> Provider:
    from .litellm_bridge import LiteLLMProvider

    return LiteLLMProvider(model, **kw)


def _local(model: str, **kw: Any) -> Provider:
    from .local import LocalProvider

    return LocalProvider(model, **kw)


def _preset_factory(p: Preset) -> Factory:
    def make(model: str, *, base_url: str | None = None, api_key: str | None = None,
             **kw: Any) -> Provider:
        import os

        from .openai_compat import OpenAICompatibleProvider

        key = api_key or (os.environ.get(p.key_env) if p.key_env else None)
        headers = dict(p.headers)
        if p.key_header and key:
            headers[p.key_header] = key
        headers.update(kw.pop("default_headers", None) or {})
        kw.setdefault("price", lookup(f"{p.price_as}/{model}") if p.price_as else None)
        return OpenAICompatibleProvider(
            model,
            base_url=base_url or p.url(),
            api_key=key,
            api_key_env=p.key_env,
            provider=p.name,
            free=kw.pop("free", p.free),
            require_key=p.key_env is not None and not p.key_optional and base_url is None,
            default_headers=headers or None,
            **kw,
        )

    make.__doc__ = f"{p.label}: {p.base_url} (key: {p.key_env or 'none'})"
    return make


FACTORIES: dict[str, Factory] = {
    **{name: _preset_factory(p) for name, p in CATALOG.items()},
    "openai": _openai,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "google": _gemini,
    "ollama": _ollama,
    "litellm": _litellm,
    "local": _local,
}

#: In-process providers: no network, so no retries or breaker unless asked for explicitly.
IN_PROCESS = frozenset({"local"})

#: Factories built on an SDK with its own retries (turned off when the toolkit retries).
SDK_RETRIES = frozenset({*CATALOG, "openai", "anthropic", "gemini", "google", "ollama",
                         "litellm"})

#: Keyword arguments `resolve` consumes itself rather than passing to a factory.
WRAPPER_KEYS = ("resilience", "cache", "local")


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


def resolve(spec: str | Provider | Sequence[str | Provider], **kwargs: Any) -> Provider:
    """A provider object for `spec`.

    - "provider/model" strings are built by their factory with `kwargs` (base_url, api_key,
      timeout_s, ...) and wrapped in `ResilientProvider` unless `resilience=False`;
      `resilience=ResiliencePolicy(...)` (or a dict of its fields) tunes it. A `timeout_s`
      longer than the default policy's also lengthens the policy's per-attempt and total limits.
    - Provider objects pass through unchanged, unless `resilience` is given explicitly.
    - A list or tuple becomes a `FallbackProvider` trying each in order.
    - `cache="path.sqlite"` (or a ResponseCache) answers repeated requests from disk.
    - `local=True` marks the provider as on this machine (your own vLLM or llama.cpp server):
      `egress="local-only"` lets raw context go to it. A loopback URL alone does not count.
    """
    cache = kwargs.pop("cache", None)
    local = kwargs.pop("local", None)
    provider = _resolve(spec, kwargs)
    if local is not None:
        target: Any = provider
        while not isinstance(target, BaseProvider) and hasattr(target, "inner"):
            target = target.inner  # the provider under its resilience wrapper
        target.local = bool(local)
    if cache is not None:
        from .cache import CachedProvider

        provider = CachedProvider(provider, cache if not isinstance(cache, str) else Path(cache))
    return provider


def _resolve(spec: Any, kwargs: dict[str, Any]) -> Provider:
    from .resilience import FallbackProvider, ResiliencePolicy, ResilientProvider

    explicit = "resilience" in kwargs and kwargs["resilience"] is not None
    policy = ResiliencePolicy.from_value(kwargs.get("resilience"))
    if policy is not None and not explicit and kwargs.get("timeout_s") is not None:
        policy = policy.allowing(kwargs["timeout_s"])  # a longer timeout_s asked for is kept
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise ConfigError("an empty list of providers: name at least one 'provider/model'")
        return FallbackProvider([_resolve(item, kwargs) for item in spec])
    if not isinstance(spec, str):
        if not isinstance(spec, Provider):
            raise ConfigError(
                f"expected a 'provider/model' string, a Provider or a list of them, "
                f"got {type(spec).__name__}"
            )
        if explicit and policy is not None:
            return ResilientProvider(spec, policy)
        return spec
    name, model = split_spec(spec)
    factory = FACTORIES.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown provider {name!r} in {spec!r}. Known: {', '.join(known_providers())}. "
            "For any other OpenAI-compatible server use 'openai/MODEL' with base_url=..."
        )
    clean = {k: v for k, v in kwargs.items() if v is not None and k not in WRAPPER_KEYS}
    if name in SDK_RETRIES:
        if policy is not None:
            clean["max_retries"] = 0  # the resilience layer counts the retries, once
        if "context_window" not in clean and (window := known_window(model)) is not None:
            clean["context_window"] = window
    built = factory(model, **clean)
    if name in IN_PROCESS and not explicit:
        return built
    return ResilientProvider(built, policy) if policy is not None else built
