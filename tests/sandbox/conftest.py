"""Fixtures for the sandbox suite: canary secrets, loopback listeners, and an attack runner.

Every attack is a scripted model reply run through the public RLM API. Canaries are planted
in a host file, in ~/.ssh under a temporary HOME, in the host environment and in host memory;
the runner then checks that none appears in the answer, the trace or any LLM request.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import socket
import struct
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit import RLM, RLMConfig, RLMResult
from rlm_toolkit.sandbox.jail.detect import bwrap_status, landlock_status
from rlm_toolkit.testing import ScriptedLLM

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Host memory canary: a module-level variable of the test process the worker must never see.
HOST_MEMORY_SECRET = f"RLM-CANARY-MEMORY-{uuid.uuid4().hex}"


def repl(code: str) -> str:
    """A model reply holding one ```repl block."""
    return f"I will run this.\n```repl\n{code}\n```"


def _tier_param(name: str) -> Any:
    status = bwrap_status() if name == "bwrap" else landlock_status()
    return pytest.param(name, id=name, marks=pytest.mark.skipif(
        not status.available, reason=f"{name} tier unavailable: {status.reason}"))


TIERS = [_tier_param("bwrap"), _tier_param("landlock")]


@pytest.fixture(params=TIERS)
def tier(request: pytest.FixtureRequest) -> str:
    """Each jailing tier this machine offers."""
    return str(request.param)


# --- canaries ----------------------------------------------------------------------------
@dataclass
class Canaries:
    """Secrets planted on the host, and the paths where they live."""

    file_secret: str
    ssh_secret: str
    env_secret: str
    memory_secret: str
    secret_file: Path
    ssh_key: Path
    outside_dir: Path

    def all(self) -> list[str]:
        return [self.file_secret, self.ssh_secret, self.env_secret, self.memory_secret]


@pytest.fixture
def canaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Canaries:
    hexes = [uuid.uuid4().hex for _ in range(3)]
    c = Canaries(
        file_secret=f"RLM-CANARY-FILE-{hexes[0]}",
        ssh_secret=f"RLM-CANARY-SSH-{hexes[1]}",
        env_secret=f"RLM-CANARY-ENV-{hexes[2]}",
        memory_secret=HOST_MEMORY_SECRET,
        secret_file=tmp_path / "host-project" / "secrets.env",
        ssh_key=tmp_path / "home" / ".ssh" / "id_rsa",
        outside_dir=tmp_path / "outside",
    )
    c.secret_file.parent.mkdir(parents=True)
    c.secret_file.write_text(f"DB_PASSWORD={c.file_secret}\n")
    c.ssh_key.parent.mkdir(parents=True)
    c.ssh_key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{c.ssh_secret}\n")
    c.outside_dir.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPENAI_API_KEY", c.env_secret)
    monkeypatch.setenv("RLM_TEST_SECRET", c.env_secret)
    return c


# --- loopback listeners ------------------------------------------------------------------
@dataclass
class Listeners:
    """TCP, UDP, unix and abstract-unix listeners on this host that record what reaches them."""

    tcp_port: int
    udp_port: int
    unix_path: str
    abstract_name: str
    unix_dgram_path: str
    abstract_dgram: str
    received: list[str] = field(default_factory=list)


@pytest.fixture
def listeners(tmp_path: Path) -> Iterator[Listeners]:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix_path = str(tmp_path / "host.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    unix.listen(8)
    abstract_name = f"rlm-test-{uuid.uuid4().hex}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind("\0" + abstract_name)
    abstract.listen(8)
    unix_dgram_path = str(tmp_path / "host-dgram.sock")
    unix_dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    unix_dgram.bind(unix_dgram_path)
    abstract_dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    abstract_dgram.bind("\0" + abstract_name + "-dgram")
    found = Listeners(tcp.getsockname()[1], udp.getsockname()[1], unix_path, abstract_name,
                      unix_dgram_path, abstract_name + "-dgram")
    stop = threading.Event()
    socks = {tcp: "tcp", udp: "udp", unix: "unix", abstract: "abstract",
             unix_dgram: "unix_dgram", abstract_dgram: "abstract_dgram"}
    for s in socks:
        s.settimeout(0.05)

    def serve() -> None:
        while not stop.is_set():
            for s, name in socks.items():
                with contextlib.suppress(OSError):
                    if name in ("udp", "unix_dgram", "abstract_dgram"):
                        data = s.recv(65536)
                        found.received.append(f"{name}:{data!r}")
                    else:
                        conn, _ = s.accept()
                        found.received.append(f"{name}:connection")
                        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join(5)
    for s in socks:
        s.close()


# --- host IPC objects --------------------------------------------------------------------
@dataclass
class HostIPC:
    """A SysV shared-memory segment and message queue of the host, holding the memory canary
    (where IPC namespaces are not unshared, same-user processes can attach to them)."""

    shm_id: int
    msg_key: int


@pytest.fixture
def host_ipc() -> Iterator[HostIPC]:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    ipc_creat, ipc_rmid = 0o1000, 0
    shm_id = libc.shmget(0, 4096, ipc_creat | 0o600)  # IPC_PRIVATE
    if shm_id >= 0:
        addr = libc.shmat(shm_id, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value):
            data = HOST_MEMORY_SECRET.encode()
            ctypes.memmove(addr, data, len(data))
            libc.shmdt(ctypes.c_void_p(addr))
    msg_key = 0x524C4D00 | (os.getpid() & 0xFF)
    msg_id = libc.msgget(msg_key, ipc_creat | 0o600)
    if msg_id >= 0:
        body = HOST_MEMORY_SECRET.encode()
        buf = ctypes.create_string_buffer(struct.pack("l", 1) + body)
        libc.msgsnd(msg_id, buf, len(body), 0o4000)  # IPC_NOWAIT
    try:
        yield HostIPC(shm_id, msg_key)
    finally:
        if shm_id >= 0:
            libc.shmctl(shm_id, ipc_rmid, None)
        if msg_id >= 0:
            libc.msgctl(msg_id, ipc_rmid, None)


# --- the jail's private /tmp ---------------------------------------------------------------
def tmp_mount_parents() -> set[str]:
    """Names bubblewrap creates in the jail's own /tmp as parents of read-only mounts, when the
    venv or the interpreter lives under the host's /tmp (a checkout in /tmp, say). They exist
    only in the jail's tmpfs; nothing written there reaches the host."""
    names = set()
    for path in {Path(sys.prefix), Path(sys.base_prefix)}:
        if path.is_relative_to("/tmp") and path != Path("/tmp"):
            names.add(path.relative_to("/tmp").parts[0])
    return names


# --- processes ---------------------------------------------------------------------------
def descendants(root: int | None = None) -> set[tuple[int, str]]:
    """(pid, start time) of every live descendant of `root` (default: this process)."""
    root = os.getpid() if root is None else root
    parent: dict[int, int] = {}
    start: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        parent[int(entry)] = int(fields[1])
        start[int(entry)] = fields[19]
    out: set[tuple[int, str]] = set()
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, ppid in parent.items():
            if ppid == pid:
                out.add((child, start[child]))
                frontier.append(child)
    return out


def alive(procs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Those of `procs` still running (same pid and start time, not a zombie)."""
    now = set()
    for pid, started in procs:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and fields[19] == started:
            now.add((pid, started))
    return now


def wait_gone(procs: set[tuple[int, str]], within_s: float = 5.0) -> set[tuple[int, str]]:
    """Wait (bounded) for `procs` to exit; return those still alive."""
    deadline = time.monotonic() + within_s
    left = alive(procs)
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = alive(left)
    return left


# --- the runner --------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one scripted run produced, as the host saw it."""

    result: RLMResult
    root: ScriptedLLM
    sub: ScriptedLLM
    worker_procs: set[tuple[int, str]]

    def feedback(self, turn: int = 1) -> str:
        """What the root model was shown after its `turn`-th reply."""
        if turn >= len(self.root.requests):
            return ""
        return str(self.root.requests[turn][-1]["content"])

    def everything(self) -> str:
        """Every text that left the worker: answer, trace and all LLM requests."""
        return "\n".join([
            str(self.result.answer), str(self.result.error),
            json.dumps(self.result.trace.to_dict(), default=str),
            json.dumps(self.root.requests, default=str),
            json.dumps(self.sub.requests, default=str),
        ])


def run_script(steps: list[str], *, sandbox: str, context: Any = "A short document.\n" * 50,
               **config: Any) -> Outcome:
    """Run the scripted model replies `steps` through RLM; record the worker's processes."""
    replies = list(steps)
    seen: set[tuple[int, str]] = set()

    def reply(messages: list[Any]) -> str:
        seen.update(descendants())  # the worker (and its jail) is alive while the model thinks
        return replies.pop(0) if replies else repl("FINAL('out of script')")

    config.setdefault("step_timeout_s", 10)
    config.setdefault("max_iterations", len(steps) + 1)
    config.setdefault("max_output_chars", 20_000)
    root = ScriptedLLM(reply)
    sub = ScriptedLLM(lambda messages: "a sub-model answer")
    result = RLM(root, sub, RLMConfig(sandbox=sandbox, **config)).run(
        context=context, query="Summarize the document.")
    return Outcome(result, root, sub, seen)
