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
    tiers = all_tiers()
    report: dict[str, Any] = {
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "platform_problem": platform_problem(),
        "seccomp": seccomp_status().reason if sys.platform == "linux" else "n/a",
        "tiers": [{"name": t.name, "available": t.available, "reason": t.reason, **t.details}
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
        report["check"] = asyncio.run(_check(sandbox))
    return report


async def _check(sandbox: str) -> dict[str, Any]:
    """Start a worker in the tier and read its own status from inside."""
    from ..sandbox import Worker, WorkerOptions

    async def no_calls(method: str, args: dict[str, Any]) -> Any:
        raise RuntimeError("doctor makes no LLM calls")

    code = (
        "import socket\nfields = dict(l.split(':\\t', 1) for l in "
        "open('/proc/self/status').read().splitlines() if ':\\t' in l)\n"
        "try:\n    socket.socket(); net = 'ALLOWED'\nexcept OSError as e:\n    net = 'denied'\n"
        "print(fields['Seccomp'].strip(), fields['NoNewPrivs'].strip(), "
        "fields['CapEff'].strip(), net)"
    )
    try:
        async with Worker("", WorkerOptions(sandbox=sandbox, step_timeout_s=20)) as worker:
            step = await worker.execute(code, no_calls)
    except RLMError as exc:
        return {"ok": False, "error": str(exc)}
    parts = step.stdout.split()
    ok = len(parts) == 4 and parts[0] == "2" and parts[1] == "1" and int(parts[2], 16) == 0 \
        and parts[3] == "denied"
    return {"ok": ok, "seccomp_mode": parts[0] if parts else None, "error": step.error,
            "inside": step.stdout.strip()}


def render(report: dict[str, Any]) -> str:
    lines = [
        f"Python:    {report['python']}",
        f"Platform:  {report['platform']}",
        f"Seccomp:   {report['seccomp']}",
    ]
    for tier in report["tiers"]:
        mark = "yes" if tier["available"] else "no "
        extra = ", ".join(f"{k}={v}" for k, v in tier.items()
                          if k not in ("name", "available", "reason"))
        lines.append(f"Tier {tier['name']:<9} {mark}  {tier['reason']}" +
                     (f"  [{extra}]" if extra else ""))
    if report["active"]:
        lines.append(f"Active tier: {report['active']} ({report['why']})")
    else:
        lines.append(f"Active tier: none. {report['why']}")
    check = report.get("check")
    if check is not None:
        if check["ok"]:
            lines.append("Check: a jailed worker started; inside it seccomp is on, "
                         "no_new_privs is set, no capabilities, sockets denied")
        else:
            lines.append(f"Check FAILED: {check.get('error') or check.get('inside')}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = gather(args.sandbox, args.check)
    print(json.dumps(report, indent=2) if args.json else render(report))
    check = report.get("check")
    return 0 if report["active"] and (check is None or check["ok"]) else 1
