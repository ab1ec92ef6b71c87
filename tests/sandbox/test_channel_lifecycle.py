"""The worker's life from the host's side: nothing is opened before a sandbox tier is known to
exist, nothing leaks when creating it fails, and cancelling a run at any moment of the
worker's start ends the run and every process it started."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.errors import ConfigError, SandboxUnavailable
from rlm_toolkit.sandbox import Worker, WorkerOptions, host
from rlm_toolkit.sandbox.jail import detect
from rlm_toolkit.testing import ScriptedLLM

from .conftest import TIERS, descendants, repl, wait_gone

HANG_GUARD_S = 60  # only a bound on a hang: the old host could wait for ever


def _open_fds() -> set[str]:
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            continue
    return out


def _scratch_dirs() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("rlm-scratch-")}


def test_no_fd_and_no_folder_leak_on_a_machine_with_no_tier(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for tier in ("bwrap", "landlock"):
        monkeypatch.setattr(detect, f"{tier}_status", lambda name=tier: detect.TierStatus(
            name, False, "not on this machine (faked)"))
    before_fds, before_dirs = _open_fds(), _scratch_dirs()
    for sandbox in ("auto", "bwrap", "landlock"):
        for _ in range(3):
            with pytest.raises(SandboxUnavailable, match="faked"):
                Worker("the context " * 1000, WorkerOptions(sandbox=sandbox))
    result_error = None
    try:
        RLM(ScriptedLLM([repl("FINAL('x')")]), config=RLMConfig(sandbox="auto")).run(
            context="ctx", query="q")
    except SandboxUnavailable as exc:
        result_error = str(exc)
    assert result_error is not None and "faked" in result_error
    assert _open_fds() == before_fds
    assert _scratch_dirs() == before_dirs


def test_a_context_that_cannot_be_encoded_leaves_no_folder_behind() -> None:
    loop: list[Any] = []
    loop.append(loop)
    before = _scratch_dirs()
    with pytest.raises(ConfigError, match="cannot be passed to the REPL"):
        Worker(loop, WorkerOptions(sandbox="unsafe-local"))
    assert _scratch_dirs() == before


def _processes_using(paths: list[str]) -> list[str]:
    """Every process on the machine whose command line or folder names one of `paths`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        for path in paths:
            if path in cmdline or cwd.startswith(path):
                found.append(f"{entry}: {cmdline[:120]!r} in {cwd}")
    return found


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_cancelling_a_run_at_any_moment_of_the_workers_start_ends_every_process(
        sandbox: str, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = host.ensure_scratch

    def recording() -> str:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(host, "ensure_scratch", recording)
    mine_before = descendants()

    async def cancel_after(delay_s: float) -> bool:
        rlm = RLM(ScriptedLLM(lambda messages: repl("FINAL('done')")),
                  config=RLMConfig(sandbox=sandbox, step_timeout_s=10))
        task = asyncio.ensure_future(rlm.arun(context="ctx " * 1000, query="q"))
        await asyncio.sleep(delay_s)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=HANG_GUARD_S)
        return task in done

    async def main() -> list[float]:
        stuck = []
        for i in range(60):  # cancels from the first moment to past the worker's start
            delay = i * 0.004
            if not await cancel_after(delay):
                stuck.append(delay)
        return stuck

    stuck = asyncio.run(main())
    assert not stuck, f"arun did not return after a cancel at {stuck}"
    assert made, "no worker was ever started"
    left = wait_gone(descendants() - mine_before)
    assert not left, f"processes of the run outlived it: {left}"
    assert not _processes_using(made), _processes_using(made)
