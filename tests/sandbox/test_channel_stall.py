"""Every host write to the worker has a deadline: a worker that stops reading is killed, in a
step, when it is sent code, and in close(). Checked with hostile code in every tier."""

from __future__ import annotations

import asyncio
import fcntl
import struct
import termios
from typing import Any

import pytest

from rlm_toolkit.sandbox import Worker, WorkerOptions

from .conftest import TIERS, alive, descendants

HANG_GUARD_S = 120  # only a bound on a hang: the old host waited for ever

STOP_READING = """
import time
ch = llm.__self__._call.channel
ch.recv = lambda: time.sleep(10 ** 6)  # the worker's loop never reads again
"""


async def _big_replies(method: str, args: dict[str, Any]) -> Any:
    return ["z" * 1_000_000 for _ in args["prompts"]]


def _options(sandbox: str) -> WorkerOptions:
    return WorkerOptions(sandbox=sandbox, step_timeout_s=300, write_timeout_s=2)


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_a_worker_that_asks_and_never_reads_the_reply_is_stopped(sandbox: str) -> None:
    code = ("ch = llm.__self__._call.channel\n"
            "ch.send({'op': 'call', 'id': 1, 'method': 'llm', 'args': {'prompts': ['p'] * 20}})\n"
            "import time; time.sleep(10 ** 6)")

    async def main() -> tuple[str | None, str]:
        async with Worker("ctx", _options(sandbox)) as worker:
            step = await worker.execute(code, _big_replies)
            after = await worker.execute("print('alive')", _big_replies)
            return step.lost_state, after.stdout

    lost, after = asyncio.run(asyncio.wait_for(main(), HANG_GUARD_S))
    assert lost is not None and "stopped reading its channel" in lost
    assert after == "alive\n"


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_a_worker_that_stops_reading_is_stopped_when_sent_code(sandbox: str) -> None:
    async def main() -> tuple[str | None, str]:
        async with Worker("ctx", _options(sandbox)) as worker:
            first = await worker.execute(STOP_READING, _big_replies)
            assert first.error is None, first
            big = "x = 1\n" + "#" * 2_000_000 + "\nprint('ran')"
            step = await worker.execute(big, _big_replies)
            after = await worker.execute("print('alive')", _big_replies)
            return step.lost_state, after.stdout

    lost, after = asyncio.run(asyncio.wait_for(main(), HANG_GUARD_S))
    assert lost is not None and "stopped reading its channel" in lost
    assert after == "alive\n"


FILL_AND_STOP = """
import os, sys, threading, time
ch = llm.__self__._call.channel
stuck = threading.Event()

def never_read():
    stuck.set()
    time.sleep(10 ** 6)

def attack():
    stuck.wait()  # the step is over and the worker's loop no longer reads
    try:  # the write end of the host's own pipe, through /proc: fill it, so no write fits
        w = os.open(f'/proc/self/fd/{ch.read_fd}', os.O_WRONLY | os.O_NONBLOCK)
        while True:
            os.write(w, b'\\0' * 4096)
    except OSError as exc:
        print('REOPEN', exc, file=sys.__stderr__, flush=True)
    ch.send({'op': 'call', 'id': 1, 'method': 'llm', 'args': {'prompts': ['y' * 8_000_000]}})

ch.recv = never_read
threading.Thread(target=attack, daemon=True).start()
"""


def _pipe_bytes(worker: Worker) -> int:
    """Bytes waiting in the host-to-worker pipe, read on the host's end."""
    proc = worker._proc
    assert proc is not None and proc.stdin is not None, "the worker is running"  # narrows types
    pipe = proc.stdin.transport.get_extra_info("pipe")
    return struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0" * 4))[0]


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_close_kills_a_worker_that_sends_a_large_frame_and_stops_reading(sandbox: str) -> None:
    jail: set[tuple[int, str]] = set()

    async def main() -> int:
        worker = Worker("ctx", _options(sandbox))
        await worker.start()
        try:
            jail.update(descendants())
            step = await worker.execute(FILL_AND_STOP, _big_replies)
            assert step.error is None, step
            for _ in range(2000):  # bounded: until the worker filled the pipe
                if _pipe_bytes(worker) >= 65536:
                    break
                await asyncio.sleep(0.005)
            queued = _pipe_bytes(worker)
        finally:
            await worker.close()
        return queued

    queued = asyncio.run(asyncio.wait_for(main(), HANG_GUARD_S))
    if sandbox == "unsafe-local":  # a jail may refuse the reopen (bwrap: another uid's pipe)
        assert queued >= 65536, "the attack did not arm"
    assert jail and not alive(jail), "the worker outlived close()"
