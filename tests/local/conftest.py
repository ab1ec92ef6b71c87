"""Fixtures for tests on the real embedded models: skipped, with the reason, where absent."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from rlm_toolkit.local import models


def _require(name: str) -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.skip("llama-cpp-python is not installed: pip install 'rlm-toolkit[local]'")
    if models.installed_path(models.get(name)) is None:
        pytest.skip(f"the local model {name} is not installed: rlm models install {name}")


@pytest.fixture(scope="session")
def tiny() -> Iterator[object]:
    """The 0.5B model as a provider, loaded once for the session."""
    _require("qwen2.5-coder-0.5b")
    from rlm_toolkit.providers.local import LocalProvider

    provider = LocalProvider("qwen2.5-coder-0.5b", n_ctx=4096)
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def coder() -> Iterator[object]:
    """The 1.5B model (the default) as a provider, loaded once for the session."""
    _require("qwen2.5-coder-1.5b")
    from rlm_toolkit.providers.local import LocalProvider

    provider = LocalProvider("qwen2.5-coder-1.5b")
    yield provider
    provider.close()


def haystack(chars: int, needle: str, seed: int = 7, depth: float = 0.6) -> str:
    """Seeded filler sentences of about `chars` characters with `needle` at `depth`."""
    rng = random.Random(seed)
    words = ["the", "of", "and", "a", "to", "in", "was", "that", "for", "on", "with", "as", "by", "at", "from", "his", "her", "it", "which", "river", "castle", "garden", "letter", "window", "morning", "soldier", "village", "merchant", "harbor", "winter", "candle"]
    lines: list[str] = []
    size = 0
    while size < chars:
        line = " ".join(rng.choice(words) for _ in range(12)).capitalize() + "."
        lines.append(line)
        size += len(line) + 1
    lines.insert(int(len(lines) * depth), needle)
    return "\n".join(lines)
