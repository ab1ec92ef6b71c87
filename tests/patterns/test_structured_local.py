"""Structured sub-calls on the embedded 0.5B model: grammar-constrained JSON, always valid."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from rlm_toolkit.engine.schema import OutputSchema
from rlm_toolkit.local import models
from rlm_toolkit.providers.base import CompletionOptions

pytestmark = pytest.mark.local_model

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 24},
        "population": {"type": "integer"},
        "coastal": {"type": "boolean"},
    },
    "required": ["city", "population", "coastal"],
}
CITIES = ["Lisbon", "Porto", "Madrid", "Paris", "Lyon", "Nice", "Rome", "Milan", "Oslo", "Bergen",
          "Vienna", "Prague", "Warsaw", "Krakow", "Dublin", "Cork", "Athens", "Sofia", "Riga",
          "Tallinn", "Helsinki", "Turku", "Bern", "Zurich", "Geneva"]
PROMPTS = [f"Describe the city of {c} ({style})." for c in CITIES
           for style in ("briefly", "with a guess at its population")]


@pytest.fixture(scope="module")
def tiny() -> Iterator[object]:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.skip("llama-cpp-python is not installed: pip install 'rlm-toolkit[local]'")
    if models.installed_path(models.get("qwen2.5-coder-0.5b")) is None:
        pytest.skip("the local model qwen2.5-coder-0.5b is not installed")
    from rlm_toolkit.providers.local import LocalProvider

    provider = LocalProvider("qwen2.5-coder-0.5b", n_ctx=2048)
    yield provider
    provider.close()


@pytest.mark.timeout(3600)  # 50 generations on a CPU
def test_fifty_prompts_all_decode_to_valid_json_with_a_grammar(tiny: object) -> None:
    assert len(PROMPTS) == 50
    schema = OutputSchema.of(SCHEMA)
    options = CompletionOptions(temperature=0.0, max_tokens=64, json_schema=SCHEMA)

    async def ask_all() -> list[str]:
        replies = []
        for prompt in PROMPTS:  # plain prompts: only the grammar asks for JSON
            completion = await tiny.complete(  # type: ignore[attr-defined]
                [{"role": "user", "content": prompt}], options)
            replies.append(completion.text)
        return replies

    replies = asyncio.run(ask_all())
    values = [schema.validate(text) for text in replies]  # raises on any invalid reply
    assert len(values) == 50
    assert all(isinstance(json.loads(text), dict) for text in replies)
    # The prompts never ask for JSON: the grammar alone makes every reply valid.
