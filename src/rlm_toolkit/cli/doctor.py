"""`rlm doctor`: which sandbox tier runs model code on this machine, and why."""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
from typing import Any

from ..errors import RLMError
from ..sandbox.jail.detect import all_tiers, choose_tier, platform_problem, seccomp_status


def register(commands: Any) -> None:
    """Add the `doctor` subcommand."""
    p = commands.add_parser("doctor", help="show the sandbox tier in force and why",
                            description="Report the REPL sandbox: the tier that would run "
                            "model-written code here, and why each other tier is (not) available.")
    p.add_argument("--sandbox", default="auto", choices=["auto", "bwrap", "landlock"],
                   help="the sandbox mode to check (default: auto)")
    p.add_argument("--check", action="store_true",
                   help="also start a jailed worker and confirm the lockdown from inside")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def gather(sandbox: str = "auto", check: bool = False) -> dict[str, Any]:
    """The doctor's findings as plain data."""
    from ..sandbox.jail.limits import tier_limits

    tiers = all_tiers()
    report: dict[str, Any] = {
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "platform_problem": platform_problem(),
        "seccomp": seccomp_status().reason if sys.platform == "linux" else "n/a",
        "tiers": [{"name": t.name, "available": t.available, "reason": t.reason, **t.details,
                   "limits": [limit.as_dict() for limit in
                              tier_limits(t.name, t.details.get("binary"))]
                   if t.available else []}
                  for t in tiers],
    }
    try:
        tier, _ = choose_tier(sandbox)
        report["active"] = tier.name
        report["why"] = tier.reason
    except RLMError as exc:
        report["active"] = None
        report["why"] = str(exc)
    if check and report["active"]:
        names = [t.name for t in tiers if t.available] if sandbox == "auto" else [sandbox]
        report["checks"] = {name: asyncio.run(_check(name)) for name in names}
        report["check"] = report["checks"][report["active"]]
    return report


PROBE = r"""
import json, os, socket
fields = dict(l.split(':\t', 1) for l in open('/proc/self/status').read().splitlines()
              if ':\t' in l)
try:
    socket.socket(); net = 'ALLOWED'
except OSError:
    net = 'denied'
def writable(path):
    try:
        os.close(os.open(path, os.O_WRONLY))  # opened, never written
        return True
    except OSError:
        return False
try:
    mounts = [l.split() for l in open('/proc/self/mountinfo')]
except OSError:  # Landlock: no mount table; the scratch is a host folder
    mounts = []
cwd = os.getcwd()
best = max((m for m in mounts if cwd == m[4] or cwd.startswith(m[4].rstrip('/') + '/')),
           key=lambda m: len(m[4]), default=None)
st = os.statvfs(cwd)
print(json.dumps({
    'seccomp': fields['Seccomp'].strip(), 'no_new_privs': fields['NoNewPrivs'].strip(),
    'cap_eff': fields['CapEff'].strip(), 'net': net, 'uid': os.getuid(),
    'sysctl_writable': writable('/proc/sys/kernel/core_pattern'),
    'sysrq_writable': writable('/proc/sysrq-trigger'),
    'scratch_fs': best[best.index('-') + 1] if best else None,
    'scratch_options': (best[5] + ',' + best[-1]) if best else None,
    'scratch_nosuid': bool(st.f_flag & os.ST_NOSUID),
    'scratch_mode': oct(os.stat(cwd).st_mode & 0o7777),
}))
"""


def _host_view(pid: int | None) -> dict[str, Any]:
    """The worker's host uid and cgroups, read from the host's /proc (not from inside)."""
    if pid is None:
        return {}
    last = pid
    try:
        for _ in range(8):  # bubblewrap: its init, then the worker; follow the first child
            with open(f"/proc/{last}/task/{last}/children", encoding="ascii") as fh:
                children = fh.read().split()
            if not children:
                break
            last = int(children[0])
        with open(f"/proc/{last}/status", encoding="ascii") as fh:
            uids = next(line.split()[1:3] for line in fh if line.startswith("Uid:"))
        with open(f"/proc/{last}/cgroup", encoding="ascii") as fh:
            groups = [line.strip() for line in fh if "rlm-" in line]
    except (OSError, StopIteration, ValueError):
        return {}
    return {"host_uid": "/".join(uids), "cgroups": groups}


async def _check(sandbox: str) -> dict[str, Any]:
    """Start a worker in the tier and read its status from inside and from the host."""
    from ..sandbox import Worker, WorkerOptions

    async def no_calls(method: str, args: dict[str, Any]) -> Any:
        raise RuntimeError("doctor makes no LLM calls")

    try:
        async with Worker("", WorkerOptions(sandbox=sandbox, step_timeout_s=20,
                                            memory_limit_mb=1024)) as worker:
            step = await worker.execute(PROBE, no_calls)
            host = _host_view(worker.pid)
    except RLMError as exc:
        return {"ok": False, "error": str(exc)}
    try:
        inside = json.loads(step.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": step.error or step.stdout.strip()}
    ok = (inside["seccomp"] == "2" and inside["no_new_privs"] == "1"
          and int(inside["cap_eff"], 16) == 0 and inside["net"] == "denied"
          and not inside["sysctl_writable"] and not inside["sysrq_writable"])
    return {"ok": ok, "seccomp_mode": inside["seccomp"], "error": step.error,
            "inside": inside, "host": host}


def _check_lines(name: str, check: dict[str, Any]) -> list[str]:
    if not check.get("inside"):
        return [f"Check {name}: FAILED: {check.get('error')}"]
    inside, host = check["inside"], check.get("host", {})
    verdict = "ok" if check["ok"] else "FAILED"
    lines = [f"Check {name}: {verdict}: seccomp {inside['seccomp']}, no_new_privs "
             f"{inside['no_new_privs']}, capabilities {inside['cap_eff']}, sockets {inside['net']}"]
    lines.append(f"  sysctls: {'WRITABLE' if inside['sysctl_writable'] else 'read-only'}; "
                 f"uid inside {inside['uid']}, on the host {host.get('host_uid', '?')}")
    lines.append(f"  scratch: {inside['scratch_fs'] or 'host folder'} "
                 f"({'nosuid' if inside['scratch_nosuid'] else 'NOT nosuid'}, mode "
                 f"{inside['scratch_mode']}){', ' + inside['scratch_options'] if inside['scratch_options'] else ''}")
    groups = host.get("cgroups") or ["none (memory: RLIMIT_AS only; pids: not capped)"]
    lines.append(f"  cgroups: {'; '.join(groups)}")
    return lines


def render(report: dict[str, Any]) -> str:
    lines = [
        f"Python:    {report['python']}",
        f"Platform:  {report['platform']}",
        f"Seccomp:   {report['seccomp']}",
    ]
    for tier in report["tiers"]:
        mark = "yes" if tier["available"] else "no "
        extra = ", ".join(f"{k}={v}" for k, v in tier.items()
                          if k not in ("name", "available", "reason", "limits"))
        lines.append(f"Tier {tier['name']:<9} {mark}  {tier['reason']}" +
                     (f"  [{extra}]" if extra else ""))
        for limit in tier.get("limits", []):
            mark = "enforced    " if limit["enforced"] else "NOT enforced"
            lines.append(f"    {limit['name']:<30} {mark}  {limit['mechanism']}")
    if report["active"]:
        lines.append(f"Active tier: {report['active']} ({report['why']})")
    else:
        lines.append(f"Active tier: none. {report['why']}")
    for name, check in (report.get("checks") or {}).items():
        lines += _check_lines(name, check)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = gather(args.sandbox, args.check)
    print(json.dumps(report, indent=2) if args.json else render(report))
    checks = report.get("checks") or {}
    return 0 if report["active"] and all(c["ok"] for c in checks.values()) else 1
