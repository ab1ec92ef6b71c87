"""Errors raised inside a run end it with a status that says what happened, never a wrong one."""

from __future__ import annotations

import pytest

from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl


@pytest.mark.parametrize("timeout_s", [None, 300.0])
def test_a_providers_own_timeout_is_not_the_runs_timeout(timeout_s: float | None) -> None:
    root = ScriptedLLM([repl("answer['content'] = 'half done'"),
                        TimeoutError("upstream read timed out")])
    result = make_rlm(root, timeout_s=timeout_s).run(context="some text", query="q")
    assert result.status == "error"
    assert "upstream read timed out" in (result.error or "")
    assert "timeout_s" not in (result.error or "")
    assert result.answer == "half done"  # the partial answer survives


def test_the_runs_own_timeout_is_reported_as_timeout() -> None:
    root = ScriptedLLM([repl("answer['content'] = 'so far'"),
                        repl("import time\ntime.sleep(30)")])
    result = make_rlm(root, timeout_s=3.0, step_timeout_s=60).run(context="text", query="q")
    assert result.status == "timeout"
    assert result.error == "the run passed timeout_s=3s"
    assert result.answer == "so far"


def test_a_sub_models_timeout_is_an_error_item_and_the_run_goes_on() -> None:
    sub = ScriptedLLM([TimeoutError("sub model stalled")])
    root = ScriptedLLM([repl("r = llm_batch(['a'])\nprint(r)"), repl("FINAL('recovered')")])
    result = make_rlm(root, sub).run(context="text", query="q")
    assert result.status == "success" and result.answer == "recovered"
    assert "sub model stalled" in root.requests[1][-1]["content"]
