"""The in-worker lockdown fails closed, and its seccomp program is well formed."""

from __future__ import annotations

import platform

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
