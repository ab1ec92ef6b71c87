"""`rlm doctor --check` reports what each tier enforces here, confirmed from inside a real
jailed worker and from the host; a tier that cannot enforce something says so."""

from __future__ import annotations

import json
import os

import pytest

from rlm_toolkit.cli.main import main as cli_main
from rlm_toolkit.sandbox.jail import cgroup
from rlm_toolkit.sandbox.jail.detect import bwrap_status, choose_tier
from rlm_toolkit.sandbox.jail.limits import tier_limits

NAMES = {"host files hidden", "sysctls read-only", "unprivileged uid",
         "scratch nosuid, size-limited", "memory", "pids"}


def test_doctor_check_reports_each_tiers_limits_from_inside_and_from_the_host(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["doctor", "--json", "--check"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    available = [t for t in report["tiers"] if t["available"]]
    assert available and set(report["checks"]) == {t["name"] for t in available}
    for tier in available:
        limits = {limit["name"]: limit for limit in tier["limits"]}
        assert set(limits) == NAMES
        check = report["checks"][tier["name"]]
        inside = check["inside"]
        assert check["ok"] is True
        assert inside["sysctl_writable"] is False and inside["sysrq_writable"] is False
        assert limits["sysctls read-only"]["enforced"] is True
        _real, effective = check["host"]["host_uid"].split("/")
        if tier["name"] == "bwrap":
            assert inside["scratch_fs"] == "tmpfs" and inside["scratch_nosuid"] is True
            assert limits["scratch nosuid, size-limited"]["enforced"] is True
            # what doctor says about the uid is what the host sees
            assert limits["unprivileged uid"]["enforced"] is (effective != "0")
        support = cgroup.detect()
        assert limits["pids"]["enforced"] is support.pids
        if support.pids:
            assert any(":pids:" in g or g.startswith("0::") for g in check["host"]["cgroups"])


def test_doctor_names_what_a_tier_cannot_enforce(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["doctor"])
    out = capsys.readouterr().out
    assert code == 0, out
    if not any(t.name == "landlock" and t.available for t in choose_tier("auto")[1]):
        pytest.skip("Landlock tier unavailable")
    landlock = {limit.name: limit for limit in tier_limits("landlock")}
    assert landlock["host files hidden"].enforced is False  # stat() of host files
    if os.geteuid() == 0:
        assert landlock["unprivileged uid"].enforced is False  # it keeps the host's uid
    for name, limit in landlock.items():
        if not limit.enforced:
            assert f"{name:<30} NOT enforced  {limit.mechanism}" in out


def test_auto_prefers_the_tier_that_enforces_more(monkeypatch: pytest.MonkeyPatch) -> None:
    if not bwrap_status().available:
        pytest.skip("bubblewrap tier unavailable")
    from rlm_toolkit.sandbox.jail import limits

    assert choose_tier("auto")[0].name == "bwrap"
    real = limits.enforced_count
    monkeypatch.setattr(limits, "enforced_count",
                        lambda name, binary=None: 0 if name == "bwrap" else real(name, binary))
    chosen, tiers = choose_tier("auto")
    if any(t.name == "landlock" and t.available for t in tiers):
        assert chosen.name == "landlock"
