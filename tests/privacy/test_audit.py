"""The audit's own rules: coverage, ranges merged, a context too large to measure."""

from __future__ import annotations

import pytest

from rlm_toolkit.privacy import Egress, render
from rlm_toolkit.privacy import gate as gate_module
from rlm_toolkit.providers.base import CompletionOptions
from rlm_toolkit.testing.scripted import ScriptedLLM

CONTEXT = "".join(f"entry {i:04d} reads something of its own, no. {i * 31}\n" for i in range(300))


async def send(egress: Egress, provider: ScriptedLLM, text: str) -> None:
    await egress.gate(provider, "sub").complete([{"role": "user", "content": text}],
                                                CompletionOptions())


async def test_overlapping_pieces_are_counted_once() -> None:
    egress = Egress("allow", None, CONTEXT)
    cloud = ScriptedLLM(["a", "b"], name="cloud/m")
    await send(egress, cloud, "read: " + CONTEXT[100:600])
    await send(egress, cloud, "and: " + CONTEXT[400:900])
    entry = egress.audit.to_dict()["providers"]["cloud/m"]
    assert entry["context_ranges"] == [[100, 900]]
    assert entry["context_chars_sent"] == 800
    assert entry["coverage"] == round(800 / len(CONTEXT), 6)
    assert entry["requests"] == 2 and entry["purposes"] == {"sub": 2}
    text = render(egress.audit.to_dict())
    assert "cloud/m (remote): 2 request(s)" in text and "800 chars" in text


async def test_a_context_too_large_is_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_module, "MEASURE_LIMIT", 100)
    egress = Egress("allow", None, CONTEXT)
    cloud = ScriptedLLM(["a"], name="cloud/m")
    await send(egress, cloud, CONTEXT[:500])
    entry = egress.audit.to_dict()["providers"]["cloud/m"]
    assert entry["coverage"] is None and entry["context_ranges"] == []
    assert "not measured" in render(egress.audit.to_dict())
    # local-only needs the index whatever the size: it still refuses the raw slice.
    strict = Egress("local-only", None, CONTEXT)
    with pytest.raises(gate_module.EgressRefused):
        await send(strict, cloud, CONTEXT[:500])
