"""The embedded 1.5B model: cited needles and honest abstention, measured over several
haystacks (a rate, not one lucky run). Slow; skipped where the model is not installed."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from rlm_toolkit import RLM, RLMConfig

# Several runs of a 1.5B model on a CPU: minutes, past the suite's default per-test limit.
pytestmark = [pytest.mark.local_model, pytest.mark.timeout(1800)]
RUNS = 3
WORDS = ["the", "of", "and", "a", "to", "in", "was", "that", "for", "on", "with", "as", "by",
         "at", "from", "his", "her", "it", "which", "river", "castle", "garden", "letter",
         "window", "morning", "soldier", "village", "merchant", "harbor", "winter", "candle"]


@pytest.fixture(scope="module")
def coder() -> Iterator[object]:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.skip("llama-cpp-python is not installed: pip install 'rlm-toolkit[local]'")
    from rlm_toolkit.local import models

    if models.installed_path(models.get("qwen2.5-coder-1.5b")) is None:
        pytest.skip("the local model qwen2.5-coder-1.5b is not installed: "
                    "rlm models install qwen2.5-coder-1.5b")
    from rlm_toolkit.providers.local import LocalProvider

    provider = LocalProvider("qwen2.5-coder-1.5b")
    yield provider
    provider.close()


def haystack(seed: int, needles: list[str], chars: int = 8_000) -> str:
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "."
             for _ in range(chars // 70)]
    for needle in needles:
        lines.insert(rng.randrange(len(lines)), needle)
    return "\n".join(lines)


def test_a_needle_is_answered_with_a_valid_citation_most_of_the_time(coder: object) -> None:
    cited = 0
    for seed in range(RUNS):
        code = f"{4810 + seed}-ZETA"
        text = haystack(seed, [f"The secret code for the vault is {code}.",
                               "The secret code for the garage is 9911-KILO."])
        result = RLM(coder, config=RLMConfig(max_iterations=6)).run(
            context=text, query="What is the secret code for the vault?")
        ok = (code in result.answer and bool(result.citations)
              and all(c.valid for c in result.citations)
              and any(code in c.text for c in result.citations))
        cited += ok
    print(f"needle answered with a valid citation: {cited}/{RUNS}")
    assert cited >= 1, f"no answer cited the needle validly (0/{RUNS})"


def test_an_absent_needle_is_abstained_from_at_a_measured_rate(coder: object) -> None:
    abstained, invented = 0, 0
    for seed in range(RUNS):
        text = haystack(seed, ["The secret code for the garage is 9911-KILO.",
                               "The secret code for the shed is 5520-LIMA."])
        result = RLM(coder, config=RLMConfig(max_iterations=6)).run(
            context=text, query="What is the secret code for the vault?")
        assert result.status in ("success", "max_iterations"), result.error
        abstained += not result.found
        invented += result.found and not any(c in result.answer for c in ("9911", "5520"))
    print(f"abstained {abstained}/{RUNS}; invented a code not in the text {invented}/{RUNS}")
    assert invented == 0, "the model answered a code that appears nowhere in the text"
    assert abstained >= 1, f"the model never said the text does not say (0/{RUNS})"
