"""Every provider `resolve` accepts, described for people: what `rlm providers` prints.

One row per provider prefix: its kind (native SDK, cloud API, gateway, local server), the
endpoint, the key variable and whether it is set, a default model, and whether the SDK it
needs is installed. Nothing here opens a connection or imports an SDK.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError
from .base_provider import NATIVE_KEYS
from .catalog import PRESETS, Preset
from .ollama_native import ollama_base_url

KINDS = ("native", "cloud", "gateway", "local")


@dataclass(frozen=True)
class ProviderInfo:
    """One provider prefix as `rlm providers` shows it."""

    name: str
    kind: str
    label: str
    endpoint: str
    key_env: tuple[str, ...]
    key_optional: bool
    default_model: str
    extra: str | None = None
    module: str | None = None
    key_note: str | None = None

    @property
    def key_status(self) -> str:
        """"set", "missing", "optional" (local server that takes one), "not needed", or the
        provider's own note (LiteLLM reads each cloud's variables itself)."""
        if self.key_note:
            return self.key_note
        if not self.key_env:
            return "not needed"
        if any(os.environ.get(v) for v in self.key_env):
            return "set"
        return "optional" if self.key_optional else "missing"

    @property
    def installed(self) -> bool:
        """Whether the SDK this provider needs can be imported (checked without importing)."""
        if self.module is None:
            return True
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False

    @property
    def example(self) -> str:
        return f"{self.name}/{self.default_model}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(key_env=list(self.key_env), key_status=self.key_status,
                    installed=self.installed, example=self.example)
        return data


def _native() -> list[ProviderInfo]:
    return [
        ProviderInfo("openai", "native", "OpenAI, or any OpenAI-compatible server via base_url",
                     "https://api.openai.com/v1", NATIVE_KEYS["openai"], False, "gpt-4o-mini"),
        ProviderInfo("anthropic", "native", "Anthropic Messages API (prompt caching)",
                     "https://api.anthropic.com", NATIVE_KEYS["anthropic"], False,
                     "claude-sonnet-5-5", "anthropic", "anthropic"),
        ProviderInfo("gemini", "native", "Google Gemini API (generateContent)",
                     "https://generativelanguage.googleapis.com",
                     NATIVE_KEYS["gemini"], False, "gemini-2.5-flash", "gemini",
                     "google.genai"),
        ProviderInfo("google", "native", "alias of gemini",
                     "https://generativelanguage.googleapis.com",
                     NATIVE_KEYS["gemini"], False, "gemini-2.5-flash", "gemini",
                     "google.genai"),
        ProviderInfo("ollama", "native", "Ollama native /api/chat (sets num_ctx to fit)",
                     ollama_base_url(), (), False, "llama3", "ollama", "ollama"),
        ProviderInfo("litellm", "native",
                     "LiteLLM bridge: Bedrock, Vertex AI, watsonx, SageMaker, ...",
                     "(per LiteLLM provider)", (), False,
                     "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", "litellm", "litellm",
                     "per cloud: AWS_*, VERTEXAI_*, WATSONX_*"),
        ProviderInfo("local", "native", "embedded local model (no server, no key)",
                     "(in process)", (), False, "qwen2.5-coder-1.5b", "local",
                     "rlm_toolkit.providers.local"),
    ]


def _endpoint(p: Preset) -> str:
    try:
        return p.url()
    except ConfigError:
        return p.base_url  # placeholders not filled yet: show the template


def _preset(p: Preset) -> ProviderInfo:
    kind = "gateway" if p.free is False else "local" if p.local else "cloud"
    keys = (p.key_env,) if p.key_env else ()
    return ProviderInfo(p.name, kind, p.label, _endpoint(p), keys, p.key_optional,
                        p.default_model)


def describe(kind: str | None = None) -> list[ProviderInfo]:
    """Every provider prefix, natives first then the catalog, optionally of one kind."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}")
    natives = _native()
    taken = {n.name for n in natives}
    rows = natives + [_preset(p) for p in PRESETS if p.name not in taken]
    return [r for r in rows if kind is None or r.kind == kind]
