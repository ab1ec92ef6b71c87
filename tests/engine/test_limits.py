"""Limits stop a run with its partial answer and full trace; they never raise."""

from __future__ import annotations

import time

import pytest

from rlm_toolkit import RLMConfig
from rlm_toolkit.engine import prompts
from rlm_toolkit.errors import ConfigError, ProviderError
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

DOC = "data " * 5000


def looping_root(answer_now: str = "FINAL(best guess)") -> ScriptedLLM:
    def reply(messages):
        if messages[-1]["content"] == prompts.ANSWER_NOW:
            return answer_now
        return repl("answer['content'] = 'partial: found 3'\nprint('still looking')")
    return ScriptedLLM(reply)


def test_max_iterations_makes_one_answer_now_call() -> None:
    root = looping_root()
    result = make_rlm(root, max_iterations=3).run(context=DOC, query="q")
    assert result.status == "max_iterations"
    assert result.iterations == 3
    assert result.answer == "best guess"
    assert root.calls == 4
    assert root.requests[-1][-1]["content"] == prompts.ANSWER_NOW
    assert len(result.trace.iterations()) == 3
    assert result.trace.spans("final")


def test_max_iterations_keeps_partial_when_answer_now_fails() -> None:
    def reply(messages):
        if messages[-1]["content"] == prompts.ANSWER_NOW:
            raise ProviderError("overloaded", retryable=True)
        return repl("answer['content'] = 'partial: found 3'")
    result = make_rlm(ScriptedLLM(reply), max_iterations=2).run(context=DOC, query="q")
    assert (result.status, result.answer) == ("max_iterations", "partial: found 3")


def test_max_tokens_stops_with_partial_answer() -> None:
    root = looping_root()
    result = make_rlm(root, max_tokens=4000, max_iterations=50).run(context=DOC, query="q")
    assert result.status == "max_tokens"
    assert result.answer == "partial: found 3"
    assert result.usage.total_tokens <= 4000
    assert "max_tokens" in (result.error or "")


def test_max_cost_stops_the_run() -> None:
    root = ScriptedLLM(lambda m: repl("answer['content'] = 'so far'"), cost_per_call=0.01)
    result = make_rlm(root, max_cost=0.025, max_iterations=50).run(context=DOC, query="q")
    assert result.status == "max_cost"
    assert result.cost is not None and result.cost <= 0.025 + 1e-9
    assert result.answer == "so far"


def test_max_subcalls_counts_and_stops() -> None:
    root = ScriptedLLM([repl("answer['content'] = 'p'\nr = llm_batch(['a'] * 5)\nprint(r)"),
                        "FINAL(best so far: p)"])
    sub = ScriptedLLM(lambda m: "ok")
    result = make_rlm(root, sub, max_subcalls=3).run(context=DOC, query="q")
    assert result.status == "max_subcalls"
    assert sub.calls == 0  # reserved up front: the batch of 5 never started
    assert root.requests[-1][-1]["content"] == prompts.ANSWER_NOW  # one last answer-now call
    assert result.answer == "best so far: p"


def test_concurrent_children_cannot_overshoot_the_subcall_budget() -> None:
    def root_reply(messages):
        if messages[1]["content"].startswith("Query: child"):
            return repl("FINAL(llm_batch(['x', 'y'])[0])")
        return repl("out = rlm_batch(['child %d' % i for i in range(6)])\nprint(out)")
    sub = ScriptedLLM(lambda m: "leaf", latency_s=0.01)
    result = make_rlm(ScriptedLLM(root_reply), sub, max_subcalls=7, max_depth=1,
                      max_iterations=2).run(context=DOC, query="parent")
    assert result.subcalls <= 7
    assert result.status == "max_subcalls"


def test_timeout_returns_partial_answer() -> None:
    root = ScriptedLLM(lambda m: repl("answer['content'] = 'half'\nimport time; time.sleep(0.3)"))
    started = time.monotonic()
    result = make_rlm(root, timeout_s=1.5, max_iterations=100).run(context=DOC, query="q")
    assert result.status == "timeout"
    assert result.answer == "half"
    assert time.monotonic() - started < 10


def test_step_timeout_restarts_worker_and_tells_model_variables_were_lost() -> None:
    root = ScriptedLLM([
        repl("keep = 41"),
        repl("while True:\n    try:\n        pass\n    except BaseException:\n        pass"),
        repl("print('keep' in globals(), len(context))"),
        repl("FINAL('recovered')"),
    ])
    result = make_rlm(root, step_timeout_s=1.0).run(context=DOC, query="q")
    assert result.answer == "recovered"
    assert "step_timeout_s=1s" in root.requests[2][-1]["content"]
    assert "every variable you defined is lost" in root.requests[2][-1]["content"]
    assert f"False {len(DOC)}" in root.requests[3][-1]["content"]


def test_root_failure_mid_run_gives_error_status_partial_answer_and_cause_in_trace() -> None:
    root = ScriptedLLM([repl("answer['content'] = 'first finding'"),
                        ProviderError("500 upstream exploded", status=500)])
    result = make_rlm(root).run(context=DOC, query="q")
    assert result.status == "error"
    assert result.answer == "first finding"
    assert "upstream exploded" in (result.error or "")
    errors = [s.error for s in result.trace.spans() if s.error]
    assert any("upstream exploded" in e for e in errors)


def test_bad_configuration_raises_clear_errors() -> None:
    with pytest.raises(ConfigError, match="max_iterations must be a whole number"):
        RLMConfig(max_iterations=0)
    with pytest.raises(ConfigError, match="sandbox must be one of"):
        RLMConfig(sandbox="docker")
    with pytest.raises(ConfigError, match="not of the form 'provider/model'"):
        make_rlm("gpt-4o")
    with pytest.raises(ConfigError, match="query must be a non-empty string"):
        make_rlm(ScriptedLLM([])).run(context="x", query="  ")
    with pytest.raises(ConfigError, match="context must be str, bytes"):
        make_rlm(ScriptedLLM([])).run(context=object(), query="q")  # type: ignore[arg-type]


def test_scratch_quota_is_set_from_the_config() -> None:
    fill = "import time\nfor i in range(2000):\n    open(f'f{i}', 'w').close()\ntime.sleep(30)"
    root = ScriptedLLM([repl(fill), repl("FINAL('done')")])
    result = make_rlm(root, scratch_max_files=50).run(context="text", query="Fill the disk")
    assert result.answer == "done"
    assert "over 50 files in its scratch directory" in root.requests[1][-1]["content"]
