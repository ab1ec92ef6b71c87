"""Each attack runs as a scripted model reply through the public RLM API, in every tier.

After each attack: no canary (file, ~/.ssh, environment, host memory) appears in the answer,
the trace or any LLM request; blocked actions were blocked; no file appears where it must not;
no process of the run outlives it; the host keeps working and the next run works.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from pathlib import Path
from string import Template

import pytest

from rlm_toolkit.sandbox.jail.policy import FILE_SIZE_LIMIT

from .attacks import ATTACKS, PRELUDE, SYSCALLS, Attack
from .conftest import (
    PROJECT_DIR,
    Canaries,
    HostIPC,
    Listeners,
    descendants,
    repl,
    run_script,
    tmp_mount_parents,
    wait_gone,
)


def _fill(text: str, canaries: Canaries, listeners: Listeners,
          ipc: HostIPC | None = None) -> str:
    return Template(text).substitute(
        secret_file=canaries.secret_file, secret_dir=canaries.secret_file.parent,
        ssh_key=canaries.ssh_key, outside_dir=canaries.outside_dir, project_dir=PROJECT_DIR,
        host_pid=os.getpid(), host_pgid=os.getpgid(0), tcp_port=listeners.tcp_port,
        udp_port=listeners.udp_port, unix_path=listeners.unix_path,
        abstract_name=listeners.abstract_name, unix_dgram_path=listeners.unix_dgram_path,
        abstract_dgram=listeners.abstract_dgram, prefix=sys.prefix, syscalls=repr(SYSCALLS),
        shm_id=ipc.shm_id if ipc else -1, msg_key=ipc.msg_key if ipc else -1,
    )


def _vm_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_is_contained(attack: Attack, tier: str, canaries: Canaries,
                             listeners: Listeners, host_ipc: HostIPC) -> None:
    if platform.machine() not in attack.arches:
        pytest.skip(f"{attack.id} applies to {', '.join(attack.arches)} only")
    codes = attack.code if isinstance(attack.code, list) else [attack.code]
    steps = [repl(PRELUDE + _fill(code, canaries, listeners, host_ipc)) for code in codes]
    steps.append(repl("FINAL(str(6 * 7))"))
    rss_before = _vm_rss_kb()
    before = descendants()

    outcome = run_script(steps, sandbox=tier, **attack.config)

    shown = "\n".join(outcome.feedback(t) for t in range(1, len(codes) + 1))
    everything = outcome.everything()
    # 1. Nothing secret left the worker: not in the answer, the trace, or any LLM request.
    for secret in canaries.all():
        assert secret not in everything, f"canary leaked: {secret}"
    for text in attack.forbidden_text:
        assert text not in everything, f"host data leaked: {text!r}"
    assert "FOUND RLM-CANARY" not in shown
    # 2. Every blocked action was blocked, every allowed one worked.
    blocked = set(attack.blocked)
    in_jail_tmp = PROJECT_DIR.is_relative_to("/tmp") and \
        PROJECT_DIR.relative_to("/tmp").parts[:1] in {(n,) for n in tmp_mount_parents()}
    if tier == "bwrap" and in_jail_tmp:
        # The project's path then exists in the jail only inside its private /tmp tmpfs (as the
        # parent of the venv's read-only mount): writing there is contained, and the host-side
        # check of forbidden_paths below still proves nothing reached the real project.
        blocked.discard("project")
    for label in sorted(blocked):
        assert re.search(rf"BLOCKED {re.escape(label)}\b", shown), f"{label} was not blocked:\n{shown[:3000]}"
    for label in attack.allowed:
        assert f"RESULT {label} " in shown, f"{label} should work inside the jail:\n{shown[:3000]}"
    if attack.error:
        assert attack.error in shown, f"expected {attack.error!r} in:\n{shown[:3000]}"
    # 3. No file appeared where it must not; nothing reached the host's listeners.
    for raw in attack.forbidden_paths:
        path = Path(_fill(raw, canaries, listeners))
        assert not path.exists(), f"the worker created {path}"
    assert listeners.received == []
    # 4. No process of the run outlives it (the whole jail is torn down).
    assert outcome.worker_procs, "the worker's processes were not observed"
    assert not wait_gone(outcome.worker_procs - before), "a process outlived the run"
    # 5. The host is healthy: the run finished and the next step in it worked.
    assert outcome.result.status == attack.status, (outcome.result.status, outcome.result.error)
    if attack.status == "success":
        assert outcome.result.answer == "42"
    assert _vm_rss_kb() - rss_before < 300_000, "the host's memory grew by over 300 MB"
    # 6. The next run works.
    again = run_script([repl("FINAL(len(context))")], sandbox=tier, context="next run")
    assert again.result.answer == "8"


def test_disk_fill_stops_at_the_file_size_limit(tier: str, canaries: Canaries,
                                               listeners: Listeners) -> None:
    attack = next(a for a in ATTACKS if a.id == "disk_fill")
    outcome = run_script([repl(PRELUDE + str(attack.code)), repl("FINAL('ok')")], sandbox=tier)
    size = int(re.search(r"SIZE (\d+)", outcome.feedback(1)).group(1))  # type: ignore[union-attr]
    assert 0 < size <= FILE_SIZE_LIMIT


def test_llm_caps_hold_against_every_route(tier: str, canaries: Canaries,
                                          listeners: Listeners) -> None:
    per_step = next(a for a in ATTACKS if a.id == "llm_cap_per_step")
    outcome = run_script([repl(PRELUDE + str(per_step.code)), repl("FINAL('ok')")],
                         sandbox=tier, max_calls_per_step=3)
    assert outcome.sub.calls <= 3
    assert "DIRECT 3" in outcome.feedback(1)
    session = next(a for a in ATTACKS if a.id == "llm_cap_session")
    outcome = run_script([repl(c) for c in session.code], sandbox=tier, max_subcalls=4,
                         max_calls_per_step=100)
    assert outcome.sub.calls <= 4


def test_unjailed_worker_would_leak_so_the_checks_can_fail(canaries: Canaries,
                                                          listeners: Listeners) -> None:
    """Control: with sandbox="unsafe-local" the same host-file attack does reach the canary."""
    attack = next(a for a in ATTACKS if a.id == "read_host_file")
    code = PRELUDE + _fill(str(attack.code), canaries, listeners)
    outcome = run_script([repl(code), repl("FINAL('x')")], sandbox="unsafe-local")
    assert canaries.file_secret in outcome.everything()
    assert "RESULT secret " in outcome.feedback(1)


def test_attack_ids_are_unique_and_many() -> None:
    ids = [a.id for a in ATTACKS]
    assert len(ids) == len(set(ids)) >= 30
    assert json.dumps(ids)
