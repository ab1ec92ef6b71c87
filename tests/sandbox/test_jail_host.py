"""The jail judged from the host: the host's kernel settings, the uid the jail runs as, what
its scratch is made of, the set-id files and disk it could leave behind, its cgroup, and what
is left once its host is killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import pytest

from rlm_toolkit.sandbox import Worker, WorkerOptions, quota
from rlm_toolkit.sandbox.jail import cgroup
from rlm_toolkit.sandbox.jail.bwrap import NOBODY
from rlm_toolkit.sandbox.jail.policy import PIDS_LIMIT, TMP_SIZE

from .attacks import ATTACKS, DISK_ATTACKS, MAKE_SETID, PRELUDE, Attack
from .conftest import Canaries, Listeners, descendants, repl, run_script, wait_gone
from .test_attacks import _fill

MIB = 1 << 20
# Kernel-wide knobs the attacks try to change; read on the host before and after.
KNOBS = ("/proc/sys/kernel/core_pattern", "/proc/sys/fs/suid_dumpable",
         "/proc/sys/vm/overcommit_ratio", "/proc/sys/kernel/modprobe",
         "/proc/irq/default_smp_affinity")


async def _no_calls(method: str, args: dict) -> None:
    raise AssertionError("no LLM calls expected")


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


@pytest.fixture
def host_knobs() -> Iterator[dict[str, str | None]]:
    """The host's values of KNOBS; any the jail managed to change are put back afterwards."""
    saved = {path: _read(path) for path in KNOBS}
    yield saved
    for path, value in saved.items():
        if value is not None and _read(path) != value:
            with contextlib.suppress(OSError):
                Path(path).write_text(value)


def _innermost(pid: int) -> int:
    """The worker inside bubblewrap (bubblewrap, its init, then the interpreter)."""
    for _ in range(8):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            break
        if not children:
            break
        pid = int(children[0])
    return pid


def _status(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {key} in /proc/{pid}/status")


# --- class 1: kernel-wide settings ------------------------------------------------------------
@pytest.mark.parametrize("attack_id", ["sysctl_core_pattern", "sysctl_other_knobs"])
def test_the_hosts_kernel_settings_stay_as_they_were(attack_id: str, tier: str,
                                                    canaries: Canaries, listeners: Listeners,
                                                    host_knobs: dict[str, str | None]) -> None:
    attack = next(a for a in ATTACKS if a.id == attack_id)
    code = repl(PRELUDE + _fill(str(attack.code), canaries, listeners))
    outcome = run_script([code, repl("FINAL('done')")], sandbox=tier)
    assert outcome.result.answer == "done"
    now = {path: _read(path) for path in KNOBS}
    assert now == host_knobs, "the jail changed a kernel setting of the host"


def test_the_jail_runs_as_an_unprivileged_uid_on_the_host(tier: str) -> None:
    if tier != "bwrap":
        pytest.skip("the Landlock tier keeps the host's uid (documented in rlm doctor)")
    if os.geteuid() != 0:
        pytest.skip("the host is not root: the jail already runs as the host's own uid")

    async def probe() -> tuple[str, str, str, str]:
        async with Worker("ctx", WorkerOptions(sandbox=tier)) as worker:
            step = await worker.execute(
                "try:\n    open('/etc/shadow').read(); print('READ')\n"
                "except OSError as e:\n    print('DENIED', e.errno)", _no_calls)
            assert worker.pid is not None, "the worker is running"  # narrows the type
            inner = _innermost(worker.pid)
            return (_status(inner, "Uid"), _status(inner, "Gid"), _status(inner, "Groups"),
                    step.stdout.strip())

    uids, gids, groups, shadow = asyncio.run(probe())
    assert uids.split() == [str(NOBODY)] * 4 and gids.split() == [str(NOBODY)] * 4
    assert groups == ""
    assert shadow.startswith("DENIED") or "No such file" in shadow


# --- class 2: set-id files, devices, links ---------------------------------------------------
def test_scratch_is_a_small_nosuid_nodev_tmpfs_seen_from_the_host(tier: str) -> None:
    if tier != "bwrap":
        pytest.skip("the Landlock tier has no mount namespace: scratch is a host folder")

    async def mounts() -> tuple[list[str], list[str]]:
        async with Worker("ctx", WorkerOptions(sandbox=tier, scratch_limit_mb=16)) as worker:
            await worker.execute("x = 1", _no_calls)
            assert worker.pid is not None, "the worker is running"  # narrows the type
            table = Path(f"/proc/{_innermost(worker.pid)}/mountinfo").read_text().splitlines()
            return ([line for line in table if line.split()[4] == "/scratch"],
                    [line for line in table if line.split()[4] == "/proc/sys"])

    scratch, proc_sys = asyncio.run(mounts())
    assert len(scratch) == 1, scratch
    fields = scratch[0].split()
    options, fs = fields[5].split(","), fields[fields.index("-") + 1:]
    assert "nosuid" in options and "nodev" in options and fs[0] == "tmpfs"
    assert "size=16384k" in fs[2].split(","), fs
    assert proc_sys and "ro" in proc_sys[-1].split()[5].split(",")


def test_set_id_files_never_reach_other_users_of_the_host(tier: str, canaries: Canaries,
                                                         listeners: Listeners) -> None:
    attack = next(a for a in ATTACKS if a.id == "setuid_files_in_scratch")
    code = PRELUDE + _fill(str(attack.code), canaries, listeners) + MAKE_SETID

    async def run() -> tuple[str, str | None, str, list[str], set[str]]:
        async with Worker("ctx", WorkerOptions(sandbox=tier, step_timeout_s=30)) as worker:
            scratch = worker._scratch
            hold = ("import time\nif os.path.exists('made_suid'):\n    time.sleep(60)\n"
                    if tier == "landlock" else "")  # until the host's watcher stops it
            step = await worker.execute(code + hold, _no_calls)
            mode = stat.S_IMODE(os.stat(scratch).st_mode)
            on_host = [str(p) for p in Path(scratch).rglob("*")
                       if p.lstat().st_mode & (stat.S_ISUID | stat.S_ISGID)]
            mountopts: set[str] = set()
            if tier == "bwrap":
                assert worker.pid is not None, "the worker is running"  # narrows the type
                table = Path(f"/proc/{_innermost(worker.pid)}/mountinfo").read_text()
                for line in table.splitlines():
                    if line.split()[4] == "/scratch":
                        mountopts = set(line.split()[5].split(","))
            return step.stdout, step.lost_state, oct(mode), on_host, mountopts

    stdout, lost, mode, on_host, mountopts = asyncio.run(run())
    assert mode == "0o700", "the scratch folder was opened to other users"
    assert on_host == [], f"set-id files on the host's disk: {on_host}"
    if "BLOCKED create_setid" in stdout:  # seccomp refuses a set-id mode at open()
        assert lost is None, lost
    elif tier == "bwrap":  # made inside the jail's tmpfs, where set-id bits have no effect
        assert "RESULT create_setid" in stdout and {"nosuid", "nodev"} <= mountopts
    else:  # the host's watcher saw it and stopped the worker; its scratch was emptied
        assert lost and "setuid or setgid" in lost, (lost, stdout)
    if tier == "bwrap":
        assert {"nosuid", "nodev"} <= mountopts


# --- class 4: the disk ---------------------------------------------------------------------------
@pytest.mark.parametrize("attack", DISK_ATTACKS, ids=[a.id for a in DISK_ATTACKS])
def test_disk_fills_stop_at_the_scratch_quota(attack: Attack, tier: str) -> None:
    code = PRELUDE + str(attack.code)

    async def run() -> tuple[str, str | None, int, list[str], int]:
        async with Worker("ctx", WorkerOptions(sandbox=tier, step_timeout_s=60,
                                               scratch_limit_mb=16)) as worker:
            scratch = worker._scratch
            hold = "import time\ntime.sleep(120)\n" if tier == "landlock" else ""
            step = await worker.execute(code + hold, _no_calls)
            used = -1
            if tier == "bwrap":  # the files are still open: the jail's tmpfs, from the host
                jailed = quota.jail_scratch(scratch)
                assert jailed is not None, "the host cannot find the jail's scratch tmpfs"
                fs = os.statvfs(jailed)
                used = (fs.f_blocks - fs.f_bfree) * fs.f_frsize
                assert fs.f_blocks * fs.f_frsize == 16 * MIB
            return step.stdout, step.lost_state, used, os.listdir(scratch), \
                quota.held_unlinked(scratch)

    stdout, lost, used, left, held = asyncio.run(run())
    label = attack.blocked[0]
    if tier == "bwrap":
        assert f"BLOCKED {label} OSError" in stdout, stdout[-2000:]
        assert 0 < used <= 16 * MIB
        assert left == []  # the host's disk never saw a byte
    else:
        assert lost and ("over 16 MB to its scratch directory" in lost or "deep" in lost), lost
        assert left == [] and held == 0  # the worker is gone and its files with it


# --- memory and tasks: the worker's own cgroup --------------------------------------------------
def test_the_worker_runs_in_its_own_cgroup_with_memory_and_task_limits(tier: str) -> None:
    support = cgroup.detect()
    if support.version == "none":
        pytest.skip(f"no cgroup can be used here: {support.reason}")

    async def run() -> tuple[list[str], str]:
        options = WorkerOptions(sandbox=tier, memory_limit_mb=300, scratch_limit_mb=32)
        async with Worker("ctx", options) as worker:
            await worker.execute("x = 1", _no_calls)
            assert worker.pid is not None, "the worker is running"  # narrows the type
            lines = Path(f"/proc/{_innermost(worker.pid)}/cgroup").read_text().splitlines()
            return [line for line in lines if cgroup.group_name(worker._scratch) in line], \
                worker._scratch

    lines, scratch = asyncio.run(run())
    name = cgroup.group_name(scratch)
    expected = 300 * MIB + ((32 * MIB + TMP_SIZE) if tier == "bwrap" else 0)
    if support.version == "v1":
        assert support.memory_parent and support.pids_parent
        assert any(":memory:" in line for line in lines) and any(":pids:" in line for line in lines)
    else:
        assert lines and support.memory_parent
    assert not any(Path(p, name).exists() for p in (support.memory_parent, support.pids_parent)
                   if p), "the worker's cgroup outlived it"
    # the limits, read back through a fresh worker that is still alive
    async def limits() -> tuple[str | None, str | None]:
        options = WorkerOptions(sandbox=tier, memory_limit_mb=300, scratch_limit_mb=32)
        async with Worker("ctx", options) as worker:
            await worker.execute("x = 1", _no_calls)
            group = cgroup.group_name(worker._scratch)
            if support.version == "v1":
                assert support.memory_parent and support.pids_parent
                return (_read(f"{support.memory_parent}/{group}/memory.limit_in_bytes"),
                        _read(f"{support.pids_parent}/{group}/pids.max"))
            assert support.memory_parent
            return (_read(f"{support.memory_parent}/{group}/memory.max"),
                    _read(f"{support.memory_parent}/{group}/pids.max"))

    memory, pids = asyncio.run(limits())
    assert memory is not None and int(memory) == expected
    assert pids is not None and int(pids) == PIDS_LIMIT


def test_a_thread_bomb_stops_at_the_task_cap(tier: str) -> None:
    if not cgroup.detect().pids:
        pytest.skip("no pids cgroup here")
    bomb = ("import threading\nthreading.stack_size(64 << 10)\nstop = threading.Event()\n"
            "n = 0\ntry:\n    for _ in range(1000):\n"
            "        threading.Thread(target=stop.wait, daemon=True).start(); n += 1\n"
            "except RuntimeError as e:\n    print('STOPPED', n)\nstop.set()\n")
    outcome = run_script([repl(bomb), repl("FINAL('done')")], sandbox=tier,
                         memory_limit_mb=1024)
    shown = outcome.feedback(1)
    assert "STOPPED" in shown, shown[-2000:]
    assert int(shown.split("STOPPED")[1].split()[0]) < PIDS_LIMIT


# --- class 7: a killed host leaves nothing behind ----------------------------------------------
HOST_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from rlm_toolkit.sandbox import Worker, WorkerOptions

    async def no_calls(method, args):
        raise RuntimeError("no calls")

    async def main():
        async with Worker("ctx", WorkerOptions(sandbox=sys.argv[1], step_timeout_s=300)) as w:
            await w.execute("open('left-behind', 'w').write('x' * 4096)", no_calls)
            print("READY", w._scratch, flush=True)
            await w.execute("while True:\\n    pass", no_calls)

    asyncio.run(main())
""")

# The host stops (SIGSTOP) a worker that burns CPU between steps; a host killed then must still
# leave no process behind (a stopped jail monitor cannot notice that its child is gone).
STOPPED_HOST_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from rlm_toolkit.sandbox import Worker, WorkerOptions, proctree

    async def no_calls(method, args):
        raise RuntimeError("no calls")

    async def main():
        async with Worker("ctx", WorkerOptions(sandbox=sys.argv[1], step_timeout_s=300)) as w:
            await w.execute("import threading\\n"
                            "threading.Thread(target=lambda: [0 for _ in iter(int, 1)]).start()",
                            no_calls)
            for _ in range(400):
                states = [proctree.read_stat(p) for p in proctree.tree(w.pid)]
                if any(s is not None and s.state in "Tt" for s in states):
                    break
                await asyncio.sleep(0.05)
            print("READY", w._scratch, flush=True)
            await asyncio.sleep(300)

    asyncio.run(main())
""")


@pytest.mark.parametrize("worker_state", ["busy", "stopped"])
def test_a_killed_host_leaves_no_process_and_its_scratch_is_reaped(
        tier: str, worker_state: str) -> None:
    script = HOST_SCRIPT if worker_state == "busy" else STOPPED_HOST_SCRIPT
    host = subprocess.Popen([sys.executable, "-c", script, tier], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    left: set[tuple[int, str]] = set()
    try:
        out, err = cast(IO[str], host.stdout), cast(IO[str], host.stderr)
        line = out.readline().split()
        assert line and line[0] == "READY", err.read()
        scratch = line[1]
        jail = descendants(host.pid)
        assert jail
        os.kill(host.pid, signal.SIGKILL)
        host.wait(10)
        left = wait_gone(jail)
        assert not left, "the worker outlived its host"
        assert os.path.isdir(scratch)  # the host had no chance to clean up
        removed = quota.reap_stale_scratch(os.path.dirname(scratch))
        assert scratch in removed and not os.path.exists(scratch)
        support = cgroup.detect()
        name = cgroup.group_name(scratch)
        groups = [Path(p, name) for p in (support.memory_parent, support.pids_parent) if p]
        deadline = time.monotonic() + 10  # the kernel lets go of a killed task's cgroup late
        while any(g.exists() for g in groups) and time.monotonic() < deadline:
            time.sleep(0.1)
            quota.reap_stale_scratch(os.path.dirname(scratch))
        assert not any(g.exists() for g in groups), "a dead host's cgroup was left"
    finally:
        for pid, _ in left:
            os.kill(pid, signal.SIGKILL)
        if host.poll() is None:
            host.kill()
            host.wait(10)
