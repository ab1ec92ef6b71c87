"""The map-then-answer program of `bench/goal_pinning.py --reader local-sub`, run for real in
the jail with a scripted sub model: what each note call and the answering call receive.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm

QUESTION = "In which city is the Bronze Lantern kept today? Answer with the city name only."
CONTEXT = ("Filler about the weather. " * 100 + "The Bronze Lantern was moved to the Ash Hall. "
           + "More filler here. " * 150 + "The Ash Hall stands in the city of Ortormor. "
           + "Closing words. " * 80)


def load_bench() -> ModuleType:
    path = Path(__file__).parents[2] / "bench" / "goal_pinning.py"
    spec = importlib.util.spec_from_file_location("goal_pinning_bench", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("structured", [False, True])
@pytest.mark.parametrize("pin", [True, False])
def test_notes_then_one_answering_call(structured: bool, pin: bool) -> None:
    bench = load_bench()
    seen: list[list[dict[str, Any]]] = []

    def sub(messages: list[dict[str, Any]]) -> str:
        seen.append(messages)
        last = str(messages[-1]["content"])
        if last.startswith("Question: "):
            return "Ortormor" if "Ortormor" in last else "unknown"
        facts = [s.strip() + "." for s in last.split(".") if "Lantern" in s or "city of" in s]
        return json.dumps({"facts": facts}) if structured else "Notes: " + " ".join(facts)

    root = ScriptedLLM([f"```repl\n{bench.program_of(QUESTION, structured)}\n```"])
    result = make_rlm(root, ScriptedLLM(sub), pin_goal=pin, concurrency=1).run(
        context=CONTEXT, query=QUESTION)
    assert result.status == "success", result.error
    assert result.answer == "Ortormor"
    *notes, answering = seen
    assert len(notes) >= 2  # one note per part of the split context
    for messages in notes:
        system = [m["content"] for m in messages if m["role"] == "system"]
        assert (QUESTION in "".join(system)) is pin  # the goal reaches a note call only pinned
        assert str(messages[-1]["content"]).startswith(bench.NOTE_PROMPT)
        assert ("JSON schema" in "".join(system)) is structured  # the schema goes first
    text = str(answering[-1]["content"])
    assert QUESTION in text and "The Ash Hall stands in the city of Ortormor." in text
    assert not [m for m in answering if m["role"] == "system"]  # holds the query already
