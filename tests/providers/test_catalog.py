"""The preset catalog, the registry that names models, prices, and `rlm providers`."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import urlparse

import pytest

from rlm_toolkit.cli.main import main as cli
from rlm_toolkit.errors import AuthenticationError, ConfigError
from rlm_toolkit.providers import known_providers, resolve
from rlm_toolkit.providers.base import CompletionOptions, Usage
from rlm_toolkit.providers.catalog import CATALOG, PLACEHOLDER, PRESETS, known_window
from rlm_toolkit.providers.listing import describe
from rlm_toolkit.providers.pricing import PRICES, Price, cost_of, lookup
from rlm_toolkit.providers.registry import split_spec
from rlm_toolkit.testing.servers import OpenAIServer

#: Named in the issue; each must be in the catalog (Lambda's API was shut down in 2025).
REQUIRED = {
    "openai", "azure", "groq", "together", "fireworks", "deepseek", "mistral", "openrouter",
    "xai", "cerebras", "perplexity", "deepinfra", "nebius", "sambanova", "hyperbolic", "novita",
    "nvidia", "cloudflare", "github", "huggingface", "dashscope", "moonshot", "zhipu", "minimax",
    "siliconflow", "gemini-openai", "anthropic-openai", "vllm", "sglang", "tgi", "llamacpp",
    "lmstudio", "localai", "jan", "koboldcpp", "ollama-openai", "litellm-proxy", "portkey",
    "helicone",
}
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


@pytest.fixture
def filled_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every URL placeholder set, every URL override unset."""
    for p in PRESETS:
        for var in PLACEHOLDER.findall(p.base_url):
            monkeypatch.setenv(var, f"https://{var.lower()}.example.com")
        if p.base_url_env:
            monkeypatch.delenv(p.base_url_env, raising=False)


def test_catalog_is_large_unique_and_complete() -> None:
    names = [p.name for p in PRESETS]
    assert len(names) >= 60
    assert len(set(names)) == len(names)
    assert set(names) >= REQUIRED, REQUIRED - set(names)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", n) for n in names)


@pytest.mark.usefixtures("filled_env")
def test_every_preset_has_a_url_a_key_variable_and_a_model() -> None:
    for p in PRESETS:
        url = urlparse(p.url())
        assert url.scheme in ("http", "https") and url.hostname, p.name
        assert p.default_model.strip(), p.name
        assert p.label.strip(), p.name
        if p.local:
            assert url.hostname == "127.0.0.1", p.name  # a server on this machine by default
        else:
            assert url.scheme == "https", p.name  # a cloud API is never plain HTTP
            assert p.key_env is not None and ENV_NAME.fullmatch(p.key_env), p.name
        if p.key_env is None:
            assert p.local and p.free is True, p.name  # only local servers need no key


@pytest.mark.usefixtures("filled_env")
def test_every_preset_resolves_to_its_endpoint() -> None:
    for p in PRESETS:
        provider = resolve(f"{p.name}/{p.default_model}", api_key="k", resilience=False)
        assert provider.name == f"{p.name}/{p.default_model}"
        # "openai/..." is the native factory: the SDK's default URL (it honours OPENAI_BASE_URL)
        expected = None if p.name == "openai" else p.url()
        assert getattr(provider, "base_url", None) == expected, p.name


def test_registry_accepts_every_preset_and_native_prefix() -> None:
    known = set(known_providers())
    assert set(CATALOG) <= known
    assert {"openai", "anthropic", "gemini", "google", "ollama", "litellm", "local"} <= known
    assert {p.split("/")[0] for p in PRICES} <= known  # every priced name is reachable


def test_model_names_split_once_and_errors_say_the_form() -> None:
    assert split_spec("groq/llama-3.3-70b-versatile") == ("groq", "llama-3.3-70b-versatile")
    assert split_spec("together/meta-llama/Llama-3.3-70B-Instruct-Turbo") == (
        "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo")
    with pytest.raises(ConfigError, match="provider/model"):
        split_spec("gpt-4o-mini")
    with pytest.raises(ConfigError, match=r"unknown provider 'nosuch'.*base_url"):
        resolve("nosuch/model")


def test_missing_key_names_the_variable_unless_a_base_url_is_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="GROQ_API_KEY"):
        resolve("groq/llama-3.3-70b-versatile")
    monkeypatch.setenv("GROQ_API_KEY", "from-env")
    assert resolve("groq/llama-3.3-70b-versatile").name == "groq/llama-3.3-70b-versatile"
    monkeypatch.delenv("GROQ_API_KEY")
    proxied = resolve("groq/llama-3.3-70b-versatile", base_url="http://127.0.0.1:4000/v1")
    assert proxied.base_url == "http://127.0.0.1:4000/v1"


def test_url_placeholders_and_overrides_come_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(ConfigError, match="AZURE_OPENAI_ENDPOINT"):
        resolve("azure/gpt-4o-mini", api_key="k")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://mine.openai.azure.com/")
    assert resolve("azure/gpt-4o-mini", api_key="k").base_url == (
        "https://mine.openai.azure.com/openai/v1")
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:11434")
    assert CATALOG["ollama-openai"].url() == "http://gpu-box:11434/v1"


def test_a_preset_talks_to_its_server_with_the_key_and_extra_headers() -> None:
    with OpenAIServer(["ok"]) as srv:
        provider = resolve("portkey/@openai/gpt-4o-mini", base_url=srv.base_url,
                           api_key="pk-123", resilience=False)
        out = asyncio.run(provider.complete([{"role": "user", "content": "hi"}],
                                            CompletionOptions()))
    assert out.text == "ok"
    assert srv.requests[0]["model"] == "@openai/gpt-4o-mini"
    assert srv.headers[0]["x-portkey-api-key"] == "pk-123"
    assert srv.headers[0]["authorization"] == "Bearer pk-123"


def test_prices_match_exact_names_and_dated_snapshots_only() -> None:
    assert lookup("openai/gpt-4o-2024-08-06") == PRICES["openai/gpt-4o"]
    assert lookup("anthropic/claude-sonnet-4-5-20250929") == PRICES["anthropic/claude-sonnet-4-5"]
    assert lookup("openai/gpt-4o-mini") == PRICES["openai/gpt-4o-mini"]  # not gpt-4o's price
    assert lookup("anthropic/claude-sonnet-4-7") is None  # a newer model: unknown, not guessed
    assert lookup("openai/gpt-5-codex") is None
    assert lookup("vllm/Qwen/Qwen2.5-7B-Instruct") is None
    for name, price in PRICES.items():
        assert price.input > 0 and price.output > 0, name
        assert price.cached_input is None or price.cached_input <= price.input, name


def test_cost_counts_cached_reads_and_cache_writes_at_their_rates() -> None:
    price = Price(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75)
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cached_tokens=600_000,
                  cache_write_tokens=300_000)
    # 100k plain at $3, 600k read at $0.30, 300k written at $3.75, 100k out at $15
    assert cost_of(usage, price) == pytest.approx(0.3 + 0.18 + 1.125 + 1.5)
    assert cost_of(usage, None) is None
    assert cost_of(Usage(input_tokens=10, cached_tokens=10), Price(1.0, 2.0)) == pytest.approx(1e-5)


def test_known_windows() -> None:
    assert known_window("claude-sonnet-4-5") == 200_000
    assert known_window("gpt-4.1-mini") == 1_047_576
    assert known_window("Qwen2.5-7B-Instruct") is None
    assert resolve("openai/gpt-4o-mini", api_key="k").context_window == 128_000


def test_listing_matches_the_registry_and_reports_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {r.name: r for r in describe()}
    assert set(rows) == set(known_providers())
    monkeypatch.setenv("GROQ_API_KEY", "x")
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.delenv("LITELLM_API_KEY", raising=False)
    rows = {r.name: r for r in describe()}
    assert rows["groq"].key_status == "set"
    assert rows["mistral"].key_status == "missing"
    assert rows["vllm"].key_status == "not needed" and rows["vllm"].kind == "local"
    assert rows["litellm-proxy"].key_status == "optional"
    assert rows["portkey"].kind == "gateway" and rows["anthropic"].kind == "native"
    assert {r.kind for r in describe("local")} == {"local"}
    with pytest.raises(ConfigError, match="unknown kind"):
        describe("remote")


def test_rlm_providers_lists_keys_and_filters(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "x")
    monkeypatch.delenv("CEREBRAS_API_KEY", raising=False)
    assert cli(["providers"]) == 0
    out = capsys.readouterr().out
    assert "GROQ_API_KEY (set)" in out and "CEREBRAS_API_KEY (missing)" in out
    assert "groq/llama-3.3-70b-versatile" in out and "https://api.groq.com/openai/v1" in out
    assert f"{len(known_providers())} providers" in out

    assert cli(["providers", "--json", "--kind", "cloud", "--ready"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert "groq" in {r["name"] for r in rows}
    assert all(r["kind"] == "cloud" and r["key_status"] == "set" for r in rows)

    assert cli(["providers", "no-such-thing"]) == 1
