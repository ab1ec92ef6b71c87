"""CPU time is counted for the worker's whole process tree, every thread, also while the host
serves an llm() call; whatever runs between steps is stopped. Measured from the host (/proc)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rlm_toolkit.sandbox import Worker, WorkerOptions, proctree

from .conftest import TIERS

HANG_GUARD_S = 120  # only a bound on a hang

SPIN = """
import threading
spins = [0]
def spin():
    while True:
        spins[0] += 1
threading.Thread(target=spin, daemon=True).start()
"""


async def _no_calls(method: str, args: dict[str, Any]) -> Any:
    raise AssertionError(f"unexpected call {method}")


async def _all_stopped(worker: Worker) -> list[str]:
    """The states of the worker's processes, once all show stopped (bounded wait)."""
    assert worker.pid is not None, "the worker is running"  # narrows the type
    states: list[str] = []
    for _ in range(3000):
        states = [s.state for s in map(proctree.read_stat, proctree.tree(worker.pid)) if s]
        if states and all(state == "T" for state in states):
            break
        await asyncio.sleep(0.01)
    return states


async def _cpu_over_a_pause(worker: Worker) -> tuple[float, float]:
    assert worker.pid is not None, "the worker is running"  # narrows the type
    before = proctree.cpu_seconds(worker.pid)
    await asyncio.sleep(0.5)
    return before, proctree.cpu_seconds(worker.pid)


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_a_thread_left_spinning_after_a_step_gets_no_cpu_between_steps(sandbox: str) -> None:
    async def main() -> None:
        options = WorkerOptions(sandbox=sandbox, step_timeout_s=60, cpu_poll_s=0.05)
        async with Worker("ctx", options) as worker:
            first = await worker.execute(SPIN, _no_calls)
            assert first.error is None, first
            states = await _all_stopped(worker)
            assert states and set(states) == {"T"}, states
            before, after = await _cpu_over_a_pause(worker)
            assert after == before, "the worker used the CPU between steps"
            # The next step runs (the thread too), and the worker is stopped again after it.
            second = await worker.execute("import time\nn = spins[0]\ntime.sleep(0.2)\n"
                                          "print(spins[0] > n)", _no_calls)
            assert second.stdout == "True\n", second
            states = await _all_stopped(worker)
            assert states and set(states) == {"T"}, states
            before, after = await _cpu_over_a_pause(worker)
            assert after == before, "the worker used the CPU between steps"
            assert (await worker.resolve("spins")) is not None  # still usable

    asyncio.run(asyncio.wait_for(main(), HANG_GUARD_S))


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_cpu_used_while_an_llm_call_is_served_counts_against_the_step(sandbox: str) -> None:
    cancelled: list[str] = []

    async def never_answers(method: str, args: dict[str, Any]) -> Any:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(method)
            raise

    async def main() -> tuple[str | None, str]:
        options = WorkerOptions(sandbox=sandbox, step_timeout_s=1, cpu_poll_s=0.05)
        async with Worker("ctx", options) as worker:
            step = await worker.execute(SPIN + "llm('a question that takes long')\n",
                                        never_answers)
            after = await worker.execute("print('fresh')", _no_calls)
            return step.lost_state, after.stdout

    lost, after = asyncio.run(asyncio.wait_for(main(), HANG_GUARD_S))
    assert lost is not None and "CPU time" in lost, lost
    assert cancelled == ["llm"]
    assert after == "fresh\n"
