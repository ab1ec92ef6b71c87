"""Shared fixtures. Every test drives the public API; nothing here fakes the engine."""

from __future__ import annotations

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.testing import ScriptedLLM


def make_rlm(root: object, sub: object = None, **config: object) -> RLM:
    """An RLM on scripted models with the default (jailed) sandbox and a short step timeout."""
    config.setdefault("step_timeout_s", 20)
    return RLM(root, sub, RLMConfig(**config))  # type: ignore[arg-type]


def repl(code: str) -> str:
    """A model reply holding one ```repl block."""
    return f"Let me check.\n```repl\n{code}\n```"


@pytest.fixture
def scripted() -> type[ScriptedLLM]:
    return ScriptedLLM
