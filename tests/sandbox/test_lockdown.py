"""The in-worker lockdown fails closed, and its seccomp program is well formed."""

from __future__ import annotations

import errno
import functools
import platform
from typing import Any

import pytest

from rlm_toolkit.sandbox.worker import lockdown


def test_an_unsupported_cpu_gets_no_filter_and_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lockdown, "_ARCH", "riscv64")
    with pytest.raises(lockdown.LockdownError, match="x86_64 and aarch64, not riscv64"):
        lockdown.build_filter(1234)


def test_a_kernel_without_landlock_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lockdown, "landlock_abi", lambda: 0)
    with pytest.raises(lockdown.LockdownError, match="Landlock is not available"):
        lockdown.apply_landlock(["/usr"], ["/tmp"])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"), reason="unsupported arch")
def test_the_filter_checks_the_arch_first_and_every_jump_lands_inside() -> None:
    prog = lockdown.build_filter(4321)
    assert prog[0] == (lockdown.BPF_LD_W_ABS, 0, 0, lockdown.OFF_ARCH)
    assert prog[2] == (lockdown.BPF_RET_K, 0, 0, lockdown.RET_KILL_PROCESS)
    assert prog[-1] == (lockdown.BPF_RET_K, 0, 0, lockdown.RET_ALLOW)
    assert len(prog) < 4096  # the kernel's BPF_MAXINSNS
    for i, (code, jt, jf, _k) in enumerate(prog):
        if code & 0x07 == 0x05:  # BPF_JMP
            assert i + 1 + max(jt, jf) < len(prog)
    denied = {lockdown.nr(name) for name in lockdown.DENIED} - {None}
    compared = {k for code, _jt, _jf, k in prog if code == lockdown.BPF_JEQ_K}
    assert denied <= compared


GETPID = {"x86_64": 39, "aarch64": 172}.get(platform.machine(), -1)


def _run_filter(prog: list[tuple[int, int, int, int]], name: str | int, *args: int,
                arch: int | None = None) -> str:
    """Interpret the seccomp program for one call, as the kernel would; 'allow', 'kill' or an
    errno name."""
    number = lockdown.nr(name) if isinstance(name, str) else name
    assert number is not None, f"{name} does not exist on this machine"
    words = [number, lockdown.AUDIT_ARCH[platform.machine()] if arch is None else arch, 0, 0]
    for value in [*args, *[0] * (6 - len(args))]:
        value &= (1 << 64) - 1
        words += [value & 0xFFFFFFFF, value >> 32]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        pc += 1
        if code == lockdown.BPF_LD_W_ABS:
            acc = words[k // 4]
        elif code == lockdown.BPF_AND_K:
            acc &= k
        elif code in (lockdown.BPF_JEQ_K, lockdown.BPF_JGE_K, lockdown.BPF_JSET_K):
            hit = {lockdown.BPF_JEQ_K: acc == k, lockdown.BPF_JGE_K: acc >= k,
                   lockdown.BPF_JSET_K: bool(acc & k)}[code]
            pc += jt if hit else jf
        elif code == lockdown.BPF_RET_K:
            if k == lockdown.RET_ALLOW:
                return "allow"
            if k == lockdown.RET_KILL_PROCESS:
                return "kill"
            return errno.errorcode[k & 0xFFFF]
        else:
            raise AssertionError(f"unknown BPF instruction {code:#x}")


@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"), reason="unsupported arch")
def test_the_filter_decides_each_call_as_documented() -> None:
    me, host = 4321, 999
    prog = lockdown.build_filter(me)
    run = functools.partial(_run_filter, prog)
    af_inet, af_unix, stream, dgram, cloexec = 2, 1, 1, 2, 0o2000000
    thread = 0x3D0F00  # the flags glibc passes for a new thread
    expected: list[tuple[tuple[Any, ...], str]] = [
        ((GETPID,), "allow"),
        (("socket", af_unix, stream, 0), "EPERM"),
        (("socketpair", af_unix, stream | cloexec, 0), "allow"),
        (("socketpair", af_unix, dgram, 0), "EPERM"),
        (("socketpair", af_inet, stream, 0), "EPERM"),
        (("clone", thread), "allow"),
        (("clone", 17), "EPERM"),  # fork: SIGCHLD only
        (("clone", thread | 0x10000000), "EPERM"),  # a thread in a new user namespace
        (("clone3",), "ENOSYS"),
        (("kill", me, 9), "allow"), (("kill", 0, 9), "allow"), (("kill", host, 9), "EPERM"),
        (("kill", -1, 9), "EPERM"),
        (("tgkill", me, 77, 9), "allow"), (("tgkill", host, host, 9), "EPERM"),
        (("prlimit64", 0, 7, 0, 1234), "allow"), (("prlimit64", me, 7, 0, 1234), "allow"),
        (("prlimit64", 0, 7, 1234, 0), "EPERM"), (("prlimit64", host, 7, 0, 1234), "EPERM"),
        (("prlimit64", 0, 7, 1 << 32, 0), "EPERM"),
        (("setpriority", 0, 0, 5), "allow"), (("setpriority", 0, me, 5), "allow"),
        (("setpriority", 0, host, 19), "EPERM"), (("setpriority", 2, 0, 19), "EPERM"),
        (("setpriority", 0, host | 1 << 32, 19), "EPERM"),
        (("ioprio_set", 1, 0, 0), "allow"), (("ioprio_set", 1, host, 0), "EPERM"),
        (("ioprio_set", 3, 0, 0), "EPERM"),
        (("sched_setaffinity", 0, 8, 1), "allow"), (("sched_setaffinity", host, 8, 1), "EPERM"),
        (("move_pages", me), "allow"), (("move_pages", host), "EPERM"),
        (("fcntl", 3, 4, 0), "allow"),  # F_SETFL
        (("fcntl", 3, 8, host), "EPERM"), (("fcntl", 3, 10, 9), "EPERM"),
        (("fcntl", 3, 15, 0), "EPERM"),
        (("ioctl", 3, 0x541B, 0), "allow"),  # FIONREAD
        (("ioctl", 3, 0x8901, host), "EPERM"), (("ioctl", 3, 0x8902, host), "EPERM"),
        (("shmat", 7, 0, 0), "EPERM"), (("msgget", 0, 0), "EPERM"), (("mq_open", 0), "EPERM"),
        (("setrlimit", 9, 0), "EPERM"), (("execve", 0), "EPERM"), (("ptrace", 16, host), "EPERM"),
        # file metadata Landlock does not govern: denied whatever the path or descriptor
        (("fchmodat", -100, 0, 0o600), "EPERM"), (("fchmod", 3, 0o600), "EPERM"),
        (("fchmodat2", 3, 0, 0o4755, 0x1000), "EPERM"), (("fchownat", -100, 0, 0, 0), "EPERM"),
        (("fchown", 3, 0, 0), "EPERM"), (("utimensat", 3, 0, 0, 0), "EPERM"),
        (("file_setattr", 3, 0, 0, 0, 0), "EPERM"), (("inotify_init1", 0), "EPERM"),
        (("inotify_add_watch", 3, 0, 0xFFF), "EPERM"), (("fanotify_mark", 3, 1), "EPERM"),
        (("getxattr", 0, 0, 0, 0), "ENOTSUP"), (("fsetxattr", 3, 0, 0, 0), "ENOTSUP"),
        (("listxattrat", -100, 0, 0, 0, 0), "ENOTSUP"),
        (("ioctl", 3, 0x40086602, 0), "EPERM"),  # FS_IOC_SETFLAGS (chattr)
        (("ioctl", 3, 0x40806685, 0), "EPERM"),  # FS_IOC_ENABLE_VERITY
        (("ioctl", 3, 0x5412, 0), "EPERM"),  # TIOCSTI
        (("fcntl", 3, 1024, 0), "EPERM"), (("fcntl", 3, 1026, 0), "EPERM"),  # lease, dnotify
        (("fcntl", 3, 1031, 1 << 20), "EPERM"), (("fcntl", 3, 1032, 0), "allow"),  # pipe size
        # memory outside RLIMIT_AS
        (("memfd_create", 0, 0), "EPERM"), (("memfd_secret", 0), "EPERM"),
        # outliving the host
        (("prctl", 1, 0), "EPERM"), (("prctl", 36, 1), "EPERM"), (("prctl", 4, 1), "EPERM"),
        (("prctl", 0x59616D61, -1), "EPERM"), (("prctl", 15, 0), "allow"),  # PR_SET_NAME
        (("prctl", 2, 0), "allow"),  # PR_GET_PDEATHSIG
        (("setsid",), "EPERM"), (("setpgid", 0, 0), "EPERM"), (("setresuid", 0, 0, 0), "EPERM"),
        (("setreuid", -1, 0), "EPERM"), (("setfsuid", 0), "EPERM"), (("setgroups", 0, 0), "EPERM"),
        # naming or reaching a socket
        (("bind", 3, 0, 3), "EPERM"), (("connect", 3, 0, 3), "EPERM"), (("listen", 3, 1), "EPERM"),
        (("accept4", 3, 0, 0, 0), "EPERM"),
        (("io_setup", 60000, 0), "EPERM"),  # the machine-wide AIO pool
        (("get_robust_list", 0, 0, 0), "allow"),
        (("get_robust_list", host, 0, 0), "EPERM"),  # an address in the host's memory
        # no file created setuid/setgid, whatever the high bits of the mode word hold
        (("openat", -100, 0, 0o1101, 0o4755), "EPERM"), (("openat", 3, 0, 0o101, 0o2700), "EPERM"),
        (("openat", -100, 0, 0o1101, 0o10000 | 0o4755 | 1 << 40), "EPERM"),
        (("openat", -100, 0, 0o1101, 0o666), "allow"), (("openat", -100, 0, 0, 0), "allow"),
        (("openat2", -100, 0, 0, 24), "ENOSYS"),
    ]
    if platform.machine() == "x86_64":
        expected += [(("open", 0, 0o101, 0o4755), "EPERM"), (("creat", 0, 0o6755), "EPERM"),
                     (("open", 0, 0o101, 0o644), "allow")]
    wrong = [(call, want, got) for call, want in expected if (got := run(*call)) != want]
    assert not wrong
    assert run(GETPID, arch=0x40000003) == "kill"  # i386 (int 0x80) calls
    if platform.machine() == "x86_64":
        assert run(lockdown.X32_SYSCALL_BIT | 57) == "EPERM"  # fork through the x32 ABI


def test_landlock_shows_only_the_workers_own_proc_entries() -> None:
    entries = set(lockdown.PROC_SELF_ENTRIES)
    assert "status" in entries and "fd" in entries
    # net/: the host's sockets where no network namespace is; task/: the same per thread;
    # root, cwd, exe: links whose targets a rule would allow; mounts: the host's layout.
    assert not entries & {"net", "task", "root", "cwd", "exe", "mountinfo", "mounts", "mem"}
