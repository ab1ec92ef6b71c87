"""Helpers shared by the test suites: an RLM on scripted models, and a reply holding code."""

from __future__ import annotations

from typing import Any

from rlm_toolkit import RLM, RLMConfig


def make_rlm(root: Any, sub: Any = None, **config: Any) -> RLM:
    """An RLM on scripted models with the default (jailed) sandbox and a short step timeout."""
    config.setdefault("step_timeout_s", 20)
    return RLM(root, sub, RLMConfig(**config))


def repl(code: str) -> str:
    """A model reply holding one ```repl block."""
    return f"Let me check.\n```repl\n{code}\n```"
