"""Shared fixtures. Every test drives the public API; nothing here fakes the engine.

The shared helpers live in `tests/helpers.py`; they are re-exported here for older imports.
"""

from __future__ import annotations

import pytest

from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

__all__ = ["make_rlm", "repl"]


@pytest.fixture
def scripted() -> type[ScriptedLLM]:
    return ScriptedLLM
