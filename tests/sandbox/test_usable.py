"""The jail stays usable: the standard library, threads, numpy/pandas, trimmed tracebacks, large
contexts held once; and where no tier exists the user gets a clear message naming the fix."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.cli.main import main as cli_main
from rlm_toolkit.errors import SandboxUnavailable
from rlm_toolkit.sandbox import Worker, WorkerOptions
from rlm_toolkit.sandbox.jail import all_tiers
from rlm_toolkit.testing import ScriptedLLM

from .conftest import descendants, repl, run_script, wait_gone

STDLIB = """
import re, json, collections, math, statistics, itertools, datetime, functools, heapq, bisect
import decimal, fractions, random, string, textwrap, difflib, csv, io, hashlib, base64, zlib
import gzip, struct, uuid, dataclasses, typing, unicodedata, operator, copy, pprint, enum
import sqlite3, zoneinfo, tempfile, pathlib, time, asyncio, threading, concurrent.futures
db = sqlite3.connect(':memory:')
db.execute('create table t (x)')
db.executemany('insert into t values (?)', [(i,) for i in range(10)])
total = db.execute('select sum(x) from t').fetchone()[0]
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    squares = sum(pool.map(lambda v: v * v, range(10)))
async def twice(v):
    await asyncio.sleep(0)
    return 2 * v
doubled = asyncio.run(twice(21))
with tempfile.NamedTemporaryFile('w', delete=False) as fh:
    fh.write('scratch works')
print(total, squares, doubled, statistics.median([1, 3, 5]), re.sub('a', 'b', 'aa'),
      datetime.date(2024, 1, 2).isoformat(), pathlib.Path(fh.name).read_text())
"""


def test_standard_library_threads_and_asyncio_work_inside(tier: str) -> None:
    outcome = run_script([repl(STDLIB), repl("FINAL(doubled)")], sandbox=tier)
    assert "45 285 42 3 bb 2024-01-02 scratch works" in outcome.feedback(1)
    assert outcome.result.answer == "42"


@pytest.mark.skipif(not (importlib.util.find_spec("numpy") and importlib.util.find_spec("pandas")),
                    reason="numpy and pandas are not installed")
def test_numpy_and_pandas_work_inside(tier: str) -> None:
    code = ("import numpy as np, pandas as pd\na = np.arange(12).reshape(3, 4)\n"
            "df = pd.DataFrame({'k': [1, 2, 1], 'v': [10, 20, 30]})\n"
            "print(int(a.sum()), df.groupby('k').v.sum().to_dict())")
    outcome = run_script([repl(code), repl("FINAL('ok')")], sandbox=tier)
    assert "66 {1: 40, 2: 20}" in outcome.feedback(1)


def test_tracebacks_show_only_the_models_code(tier: str) -> None:
    code = "def parse(row):\n    return int(row)\n\nvalues = [parse(r) for r in ['1', 'x']]"
    outcome = run_script([repl(code), repl("FINAL('ok')")], sandbox=tier)
    shown = outcome.feedback(1)
    assert "ValueError: invalid literal for int() with base 10: 'x'" in shown
    assert 'File "<repl-1>", line 2, in parse' in shown
    for internal in ("repl.py", "main.py", "/opt/rlm", "site-packages", "lockdown"):
        assert internal not in shown


def test_definitions_persist_and_the_memory_limit_is_configurable(tier: str) -> None:
    outcome = run_script([
        repl("def grow(mb):\n    return len(bytearray(mb << 20))\nprint(grow(100))"),
        repl("try:\n    grow(600)\nexcept MemoryError:\n    print('capped at the limit')"),
        repl("FINAL(grow(50))"),
    ], sandbox=tier, memory_limit_mb=384)
    assert "104857600" in outcome.feedback(1)
    assert "capped at the limit" in outcome.feedback(2)
    assert outcome.result.answer == str(50 << 20)


def _worker_rss_kb(outcome_text: str) -> int:
    return int(outcome_text.split("RSS ")[1].split()[0])


def test_a_large_context_arrives_whole_and_is_held_once(tier: str) -> None:
    probe = repl("print('RSS', [int(l.split()[1]) for l in open('/proc/self/status') "
                 "if l.startswith('VmRSS')][0], len(context), context[-12:])")
    small = run_script([probe, repl("FINAL('ok')")], sandbox=tier, context="tiny")
    size = 64 * 1024 * 1024
    big_text = "ab" * (size // 2 - 6) + "END-OF-TEXT\n"
    big = run_script([probe, repl("FINAL('ok')")], sandbox=tier, context=big_text)
    shown = big.feedback(1)
    assert f" {len(big_text)} " in shown and "END-OF-TEXT" in shown
    grown_kb = _worker_rss_kb(shown) - _worker_rss_kb(small.feedback(1))
    assert grown_kb < 1.5 * size / 1024, f"the worker grew by {grown_kb} kB for a 64 MB context"


async def test_a_timeout_kills_the_whole_jail_and_restarts_it(tier: str) -> None:
    async def no_calls(method: str, args: dict) -> None:
        raise AssertionError("no LLM calls expected")

    async with Worker("ctx", WorkerOptions(sandbox=tier, step_timeout_s=0.5)) as worker:
        first = descendants()
        assert first
        step = await worker.execute("while True:\n    pass", no_calls)
        assert step.lost_state and "step_timeout_s" in step.lost_state
        assert not wait_gone(first), "the old jail outlived the timeout"
        step = await worker.execute("print(len(context))", no_calls)
        assert step.stdout.strip() == "3"


def _scripted_run(sandbox: str = "auto") -> None:
    root = ScriptedLLM([repl("FINAL('x')")])
    RLM(root, config=RLMConfig(sandbox=sandbox)).run(context="c", query="q")


def test_no_tier_refuses_and_names_the_fix(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: object) -> None:
    from rlm_toolkit.sandbox.worker import lockdown

    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    monkeypatch.setattr(lockdown, "landlock_abi", lambda: 0)  # and a kernel without Landlock
    with pytest.raises(SandboxUnavailable) as err:
        _scripted_run("auto")
    message = str(err.value)
    assert "apt-get install bubblewrap" in message
    assert 'sandbox="unsafe-local"' in message
    assert "bubblewrap is not installed" in message and "no Landlock" in message
    with pytest.raises(SandboxUnavailable, match="bwrap: bubblewrap is not installed"):
        _scripted_run("bwrap")


def test_other_platforms_get_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlm_toolkit.sandbox.jail import detect

    monkeypatch.setattr(detect.sys, "platform", "darwin")
    try:
        with pytest.raises(SandboxUnavailable) as err:
            detect.choose_tier("auto")
    finally:
        monkeypatch.setattr(detect.sys, "platform", "linux")
    assert "macOS" in str(err.value) and 'sandbox="unsafe-local"' in str(err.value)


@pytest.mark.skipif(not any(t.available for t in all_tiers()), reason="no sandbox tier here")
def test_doctor_prints_the_active_tier_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["doctor"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Active tier: " in out and "Tier bwrap" in out and "Tier landlock" in out
    assert f"Python:    {sys.version.split()[0]}" in out
    code = cli_main(["doctor", "--json", "--check"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["check"]["ok"] is True
    assert report["active"] in ("bwrap", "landlock")
