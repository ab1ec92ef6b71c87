"""The provider base class: one way to name a model, find its key, price it and time it out."""

from __future__ import annotations

import pytest

from rlm_toolkit.errors import AuthenticationError, ConfigError
from rlm_toolkit.providers import resolve
from rlm_toolkit.providers.base_provider import BaseProvider

REMOTE = ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash",
          "groq/llama-3.3-70b-versatile"]


@pytest.mark.parametrize("spec", REMOTE)
def test_a_missing_key_names_the_variable_to_set(spec: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                "GROQ_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(AuthenticationError) as info:
        resolve(spec, resilience=False)
    message = str(info.value)
    assert message.startswith(f"No API key for {spec.split('/')[0]}: set ")
    assert "_API_KEY" in message and "api_key=" in message


@pytest.mark.parametrize("spec", [*REMOTE, "ollama/llama3", "litellm/bedrock/x"])
def test_every_provider_names_itself_and_finds_its_key(spec: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GROQ_API_KEY"):
        monkeypatch.setenv(var, "from-env")
    provider = resolve(spec, resilience=False)
    assert isinstance(provider, BaseProvider)
    assert provider.name == spec
    assert provider.timeout_s == 120.0 and provider.connect_timeout_s == 10.0


def test_the_window_and_price_come_from_the_catalog_unless_given() -> None:
    known = resolve("openai/gpt-4o-mini", api_key="k", resilience=False)
    assert known.context_window and known.context_window > 100_000
    assert isinstance(known, BaseProvider) and known.price is not None and not known.free
    local = resolve("openai/my-model", base_url="http://127.0.0.1:8000/v1", resilience=False,
                    context_window=4096)
    assert local.context_window == 4096
    assert isinstance(local, BaseProvider) and local.free


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "10", True])
def test_a_bad_timeout_is_refused_up_front(bad: object) -> None:
    with pytest.raises(ConfigError, match="timeout_s must be a positive number"):
        resolve("openai/m", api_key="k", timeout_s=bad, resilience=False)
