"""What the host guarantees around the jail: it dies with its host, and the context reaches it
without memfd too (the read-only file used on macOS for the unsafe-local opt-in)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from typing import IO, cast

import pytest

from rlm_toolkit.sandbox import blob

from .conftest import TIERS, descendants, repl, run_script, tmp_mount_parents, wait_gone

HOST_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from rlm_toolkit.sandbox import Worker, WorkerOptions

    async def no_calls(method, args):
        raise RuntimeError("no calls")

    async def main():
        async with Worker("ctx", WorkerOptions(sandbox=sys.argv[1], step_timeout_s=300)) as w:
            print("READY", flush=True)
            await w.execute("while True:\\n    pass", no_calls)

    asyncio.run(main())
""")


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_the_worker_dies_with_its_host_even_mid_step(sandbox: str) -> None:
    host = subprocess.Popen([sys.executable, "-c", HOST_SCRIPT, sandbox],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    left: set[tuple[int, str]] = set()
    try:
        out, err = cast(IO[str], host.stdout), cast(IO[str], host.stderr)
        line = out.readline()
        assert line.strip() == "READY", err.read()
        jail = descendants(host.pid)
        assert jail, "the worker's processes were not found"
        os.kill(host.pid, signal.SIGKILL)  # the host dies while the worker spins in a step
        host.wait(10)
        left = wait_gone(jail)
        assert not left, "the worker outlived its host"
    finally:
        for pid, _ in left:  # processes this test started
            os.kill(pid, signal.SIGKILL)
        if host.poll() is None:
            host.kill()
            host.wait(10)


def test_the_context_arrives_through_a_read_only_file_where_memfd_is_missing(
        tier: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blob, "has_memfd", lambda: False)
    text = "é" * 1000 + "END"
    probe = ("import os\nfds = []\nfor n in os.listdir('/proc/self/fd'):\n    try:\n"
             "        fds.append(os.readlink(f'/proc/self/fd/{n}'))\n    except OSError:\n"
             "        pass\nFINAL(f'{len(context)} {context[-3:]} {fds}')")
    for sandbox in ("unsafe-local", tier):
        outcome = run_script([repl(probe)], sandbox=sandbox, context=text)
        length, tail, fds = outcome.result.answer.split(" ", 2)
        assert (length, tail) == ("1003", "END"), outcome.result.answer
        assert "context" not in fds, f"the context file stayed open in the worker: {fds}"


def test_the_read_only_file_leaves_nothing_on_disk_and_cannot_be_written() -> None:
    made = blob.ContextBlob.from_value({"k": [1, 2]}, use_memfd=False)
    try:
        assert made.kind == "json" and made.path is None
        assert os.readlink(f"/proc/self/fd/{made.fd}").endswith("(deleted)")
        with pytest.raises(OSError):
            os.write(made.fd, b"x")
        assert os.pread(made.fd, made.size, 0) == b'{"k": [1, 2]}'
    finally:
        made.close()
    assert made.fd == -1


def test_without_fcntl_seals_or_memfd_the_library_imports_and_the_opt_in_runs() -> None:
    """As on macOS (no memfd, no seals) and Windows (no fcntl): import and unsafe-local work."""
    script = textwrap.dedent("""
        import os, sys
        sys.modules["fcntl"] = None  # import fcntl now fails, as on Windows
        del os.memfd_create  # and there is no memfd, as on macOS
        from rlm_toolkit import RLM, RLMConfig
        from rlm_toolkit.testing import ScriptedLLM
        root = ScriptedLLM(["```repl\\nFINAL(context[::-1])\\n```"])
        result = RLM(root, config=RLMConfig(sandbox="unsafe-local")).run(context="abc", query="q")
        print(result.status, result.answer)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "success cba", done.stderr[-2000:]


def test_old_bubblewrap_keeps_tmp_inside_the_scratch_quota(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """bubblewrap < 0.8 cannot size a tmpfs, so /tmp is a folder of the scratch dir."""
    from rlm_toolkit.sandbox.jail import bwrap
    from rlm_toolkit.sandbox.jail.detect import bwrap_status

    if not bwrap_status().available:
        pytest.skip("bubblewrap tier unavailable")
    monkeypatch.setattr(bwrap, "bwrap_version", lambda binary: (0, 6, 1))
    outcome = run_script([repl("import os\nopen('/tmp/t.txt', 'w').write('in tmp')\n"
                               "FINAL(sorted(os.listdir('.')) + sorted(os.listdir('/tmp')))")],
                         sandbox="bwrap")
    expected = [".tmp", *sorted(["t.txt", *tmp_mount_parents()])]
    assert outcome.result.answer == str(expected), outcome.result.answer
