"""The lockdown's attacks judged from the host: host file metadata, memory held outside the
worker, thread counts and abstract socket names, read on the host while the worker still
holds whatever the attack made (the host looks between two steps, while the model thinks)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from rlm_toolkit import RLM, RLMConfig, RLMResult
from rlm_toolkit.sandbox.worker.lockdown import THREAD_BUDGET
from rlm_toolkit.testing import ScriptedLLM

from .attacks import ATTACKS, PRELUDE, THREAD_BOMB, Attack
from .conftest import Canaries, HostIPC, Listeners, descendants, repl
from .test_attacks import _fill

T = TypeVar("T")


def worker_pid() -> int:
    """The pid (host view) of the REPL worker's interpreter, not of bubblewrap around it."""
    for pid, _ in descendants():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) != b"bwrap" and any(a.endswith(b"main.py") for a in argv):
            return pid
    raise AssertionError("no worker process found")


def status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def run_and_probe(attack: Attack, tier: str, probe: Callable[[int], T], fill: dict[str, Any],
                  **config: Any) -> tuple[RLMResult, str, T]:
    """Run `attack` as one step, call `probe(worker pid)` on the host before the next step,
    then finish the run. Returns the result, what the model was shown, and the probe's value."""
    code = PRELUDE + _fill(str(attack.code), **fill)
    probed: list[T] = []

    def reply(messages: list[Any]) -> str:
        if len(root.requests) == 1:
            return repl(code)
        if not probed:
            probed.append(probe(worker_pid()))
        return repl("FINAL(str(6 * 7))")

    root = ScriptedLLM(reply)
    options = {"step_timeout_s": 60, "max_iterations": 3, "max_output_chars": 20_000,
               **attack.config, **config}
    result = RLM(root, ScriptedLLM(lambda m: "sub"), RLMConfig(sandbox=tier, **options)).run(
        context="A short document.\n", query="Summarize the document.")
    shown = str(root.requests[1][-1]["content"]) if len(root.requests) > 1 else ""
    assert probed, f"the attack step did not finish: {result.status} {result.error}"
    return result, shown, probed[0]


def attack(name: str) -> Attack:
    return next(a for a in ATTACKS if a.id == name)


@pytest.fixture
def fill(canaries: Canaries, listeners: Listeners, host_ipc: HostIPC) -> dict[str, Any]:
    return {"canaries": canaries, "listeners": listeners, "ipc": host_ipc}


# --- class 3: host file metadata -------------------------------------------------------------
def _metadata(path: Path) -> tuple[Any, ...]:
    st = os.stat(path)
    xattrs = {name: os.getxattr(path, name) for name in os.listxattr(path)}
    return st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ctime_ns, xattrs


def test_host_file_modes_owners_times_and_xattrs_stay_as_they_were(
        tier: str, canaries: Canaries, fill: dict[str, Any]) -> None:
    target, folder = canaries.secret_file, canaries.secret_file.parent
    os.setxattr(target, "user.secret", canaries.memory_secret.encode())
    os.chmod(target, 0o640)
    if os.geteuid() == 0:
        os.chown(target, -1, 4321)  # a group the jail is not in; chgrp back would show
    os.utime(target, ns=(1_000_000_000, 2_000_000_000))
    before = _metadata(target), _metadata(folder)

    result, shown, _ = run_and_probe(attack("host_file_metadata"), tier, lambda pid: None, fill)

    assert (_metadata(target), _metadata(folder)) == before
    assert canaries.memory_secret not in shown + str(result.trace.to_dict())
    assert "RESULT chmod_suid" not in shown and "RESULT getxattr" not in shown
    assert result.answer == "42"


# --- class 4: memory held outside the worker's address space ---------------------------------
def _meminfo() -> dict[str, int]:
    out = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = int(value.split()[0])
    return out


def _held_by(pid: int) -> dict[str, Any]:
    fds: list[str] | None = []
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except PermissionError:  # a non-dumpable worker's fds are root's to read
        names, fds = [], None
    for fd in names:
        try:
            fds.append(os.readlink(f"/proc/{pid}/fd/{fd}"))  # type: ignore[union-attr]
        except OSError:
            continue
    segments = [line.split() for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]]
    info = _meminfo()
    st = status(pid)
    return {
        "memfds": None if fds is None else [f for f in fds
                                            if f.startswith("/memfd:") and "context" not in f],
        "dev_shm": None if fds is None else [f for f in fds if f.startswith("/dev/shm")],
        "sysv": [s for s in segments if s[4] == str(pid)],  # cpid column
        "vm_kb": int(st["VmSize"].split()[0]),
        "shmem_kb": info["Shmem"], "available_kb": info["MemAvailable"],
    }


def test_memory_outside_rlimit_as_is_refused(tier: str, fill: dict[str, Any]) -> None:
    before = _meminfo()
    result, shown, held = run_and_probe(attack("memory_outside_the_address_space_limit"), tier,
                                        _held_by, fill, memory_limit_mb=256)
    assert held["sysv"] == [], held
    if held["memfds"] is not None:
        assert held["memfds"] == [] and held["dev_shm"] == [], held
    else:  # not root: the worker's fds are hidden; the machine's shared memory must not jump
        # (the attack tries 2 x 600 MiB of memfd and 512 MiB of /dev/shm)
        assert held["shmem_kb"] - before["Shmem"] < 256 * 1024, held
    assert held["vm_kb"] <= 256 * 1024, held  # RLIMIT_AS: MAP_SHARED|MAP_ANONYMOUS counts too
    assert "RESULT map_shared_1g" not in shown and "RESULT memfd" not in shown, shown
    print(f"{tier}: Shmem {held['shmem_kb'] - before['Shmem']:+} kB, MemAvailable "
          f"{held['available_kb'] - before['MemAvailable']:+} kB while the attack held its memory")
    assert result.answer == "42"


# --- class 5: threads ------------------------------------------------------------------------
def _pids_limit(pid: int) -> str | None:
    """The pids cgroup limit of `pid`, if any is in force ("max" counts as none)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for base in ([f"/sys/fs/cgroup/pids{path}"] if "pids" in controllers.split(",") else
                     [f"/sys/fs/cgroup{path}"] if controllers == "" else []):
            try:
                value = Path(base, "pids.max").read_text().strip()
            except OSError:
                continue
            if value != "max":
                return value
    return None


def _threads(pid: int) -> dict[str, Any]:
    st = status(pid)
    return {"threads": int(st["Threads"]), "real_uid": int(st["Uid"].split()[0]),
            "pids_max": _pids_limit(pid)}


def test_a_thread_bomb_is_capped(tier: str, fill: dict[str, Any]) -> None:
    result, shown, seen = run_and_probe(THREAD_BOMB, tier, _threads, fill)
    if tier == "bwrap" and seen["real_uid"] == 0 and seen["pids_max"] is None:
        pytest.xfail(f"{tier} as root: the kernel exempts uid 0 from RLIMIT_NPROC and no pids "
                     f"cgroup limit is in force ({seen['threads']} threads)")
    assert seen["threads"] <= THREAD_BUDGET + 2, seen  # the interpreter's own + the budget
    assert "BLOCKED threads_3000" in shown, shown
    assert result.answer == "42"


POOL = Attack("thread_pool_32", """
from concurrent.futures import ThreadPoolExecutor
import threading
hold = threading.Event()
pool = ThreadPoolExecutor(32)
futures = [pool.submit(hold.wait) for _ in range(32)]
print('POOL', len(pool._threads), sum(1 for t in threading.enumerate()))
""")


def test_a_thread_pool_of_32_works(tier: str, fill: dict[str, Any]) -> None:
    result, shown, seen = run_and_probe(POOL, tier, _threads, fill)
    assert "POOL 32 33" in shown, shown
    assert seen["threads"] >= 33, seen  # seen from the host: 32 workers and the main thread
    assert result.answer == "42"


# --- class 8: abstract socket names ----------------------------------------------------------
def test_the_host_can_still_bind_the_names_the_jail_tried(tier: str, listeners: Listeners,
                                                         fill: dict[str, Any]) -> None:
    def host_binds(pid: int) -> list[str]:
        failed = []
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.bind("\0" + listeners.abstract_name + "-squat")
            except OSError as exc:
                failed.append(str(exc))
        return failed

    result, shown, failed = run_and_probe(attack("abstract_socket_squatting"), tier, host_binds,
                                          fill)
    assert failed == [], failed
    assert "BLOCKED bind_abstract" in shown and "RESULT pair_works" in shown, shown
    assert result.answer == "42"


# --- machine-wide kernel pools ---------------------------------------------------------------
def _aio_nr(pid: int) -> int:
    return int(Path("/proc/sys/fs/aio-nr").read_text())


def test_the_machine_wide_aio_pool_stays_the_hosts(tier: str, fill: dict[str, Any]) -> None:
    before = _aio_nr(0)
    result, shown, during = run_and_probe(attack("machine_wide_kernel_pools"), tier, _aio_nr,
                                          fill)
    # The attack asked for 60,000 of the machine's 65,536 AIO events and held them.
    assert during - before < 60000, (before, during)
    assert "BLOCKED aio_pool " in shown, shown
    assert result.answer == "42"


# --- set-id files born with their mode ------------------------------------------------------
def _set_id_files(pid: int) -> list[str] | None:
    """Files in the worker's working folder (its scratch, seen through the host's /proc) whose
    mode has S_ISUID or S_ISGID; None where the host may not look (not root)."""
    found = []
    try:
        entries = list(os.scandir(f"/proc/{pid}/cwd"))
    except PermissionError:
        return None
    for entry in entries:
        mode = entry.stat(follow_symlinks=False).st_mode
        if mode & 0o6000:
            found.append(f"{entry.name} {oct(mode)}")
    return found


def test_no_file_is_created_setuid_or_setgid(tier: str, fill: dict[str, Any]) -> None:
    result, shown, found = run_and_probe(attack("set_id_file_by_creation_mode"), tier,
                                         _set_id_files, fill)
    if found is None:
        pytest.skip("only root may look into a non-dumpable worker's folder through /proc")
    assert found == [], found
    assert "RESULT plain " in shown, shown
    assert result.answer == "42"
