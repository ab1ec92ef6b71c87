"""A worker cannot outlive its host: jailed code that tries to clear its parent-death signal,
become a subreaper, leave its session and keep a non-daemon thread alive is still gone, with
every thread, once the host is SIGKILLed. Checked from outside, in every tier."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from typing import IO, cast

from .conftest import descendants, wait_gone

HOST_SCRIPT = textwrap.dedent('''
    import asyncio, sys
    from rlm_toolkit.sandbox import Worker, WorkerOptions

    CODE = """
    import ctypes, threading, time
    libc = ctypes.CDLL(None, use_errno=True)
    print("pdeathsig0", libc.prctl(1, 0, 0, 0, 0))
    print("subreaper", libc.prctl(36, 1, 0, 0, 0))
    print("setsid", libc.setsid())
    print("setpgid", libc.setpgid(0, 0))
    threading.Thread(target=time.sleep, args=(3600,), daemon=False).start()
    sig = ctypes.c_int(-1)
    libc.prctl(2, ctypes.byref(sig), 0, 0, 0)
    print("pdeathsig", sig.value)
    """

    async def no_calls(method, args):
        raise RuntimeError("no calls")

    async def main():
        async with Worker("ctx", WorkerOptions(sandbox=sys.argv[1], step_timeout_s=60)) as w:
            step = await w.execute(CODE, no_calls)
            print(" ".join(step.stdout.split()), step.error, flush=True)
            print("READY", flush=True)
            await asyncio.sleep(3600)

    asyncio.run(main())
''')


def test_a_worker_that_clears_its_death_signal_still_dies_with_its_host(tier: str) -> None:
    host = subprocess.Popen([sys.executable, "-c", HOST_SCRIPT, tier], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    left: set[tuple[int, str]] = set()
    try:
        out = cast(IO[str], host.stdout)
        said = out.readline()
        ready = out.readline()
        assert ready.strip() == "READY", cast(IO[str], host.stderr).read()[-3000:]
        jail = descendants(host.pid)
        assert jail, "the worker's processes were not found"
        os.kill(host.pid, signal.SIGKILL)
        host.wait(10)
        left = wait_gone(jail)
        assert not left, f"the worker (or its thread) outlived its host; it saw: {said}"
        # What the jailed code was told: each attempt refused, the signal still SIGKILL.
        assert said.split() == ["pdeathsig0", "-1", "subreaper", "-1", "setsid", "-1",
                                "setpgid", "-1", "pdeathsig", "9", "None"], said
    finally:
        for pid, _ in left:  # processes this test started
            os.kill(pid, signal.SIGKILL)
        if host.poll() is None:
            host.kill()
            host.wait(10)
