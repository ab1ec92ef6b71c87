"""The four native wires under test: a loopback server class and the spec that reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rlm_toolkit.engine.prompts import goal_preamble
from rlm_toolkit.providers.resilience import ResiliencePolicy
from rlm_toolkit.testing.servers import (
    AnthropicServer,
    GeminiServer,
    OllamaServer,
    OpenAIServer,
    WireServer,
)

SUB_CALL_SYSTEM = goal_preamble("")[:40]  # how a sub-call's pinned goal starts, on any wire


@dataclass(frozen=True)
class Wire:
    name: str
    server: type[WireServer]
    spec: str

    def is_root(self, body: dict[str, Any]) -> bool:
        """Root calls carry the RLM system prompt; sub-calls at most the pinned goal."""
        if self.name == "anthropic":
            system = body.get("system")
        elif self.name == "gemini":
            system = body.get("systemInstruction")
        else:
            first = body["messages"][0]
            system = first["content"] if first["role"] == "system" else None
        return bool(system) and SUB_CALL_SYSTEM not in str(system)


WIRES = [
    Wire("openai", OpenAIServer, "openai/gpt-test"),
    Wire("anthropic", AnthropicServer, "anthropic/claude-test"),
    Wire("gemini", GeminiServer, "gemini/gemini-test"),
    Wire("ollama", OllamaServer, "ollama/llama-test"),
]

wire_params = pytest.mark.parametrize("wire", WIRES, ids=[w.name for w in WIRES])


def fast(**changes: Any) -> ResiliencePolicy:
    """A policy with tiny delays, for tests."""
    base: dict[str, Any] = {"base_delay_s": 0.001, "max_delay_s": 0.005, "timeout_s": 10.0}
    return ResiliencePolicy(**{**base, **changes})
