"""Which isolation tiers this machine offers, and why the others are missing. Fails closed."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field

INSTALL_HINT = (
    "install bubblewrap (`apt-get install bubblewrap`, or run scripts/setup.sh), or, for "
    "trusted code only, opt out with RLMConfig(sandbox=\"unsafe-local\") (no jail: unsafe)"
)
SUPPORTED_ARCHES = ("x86_64", "aarch64")


@dataclass(frozen=True)
class TierStatus:
    """One tier: whether it can run here, and why (not)."""

    name: str
    available: bool
    reason: str
    details: dict[str, str] = field(default_factory=dict)


def platform_problem() -> str | None:
    """Why this OS or CPU cannot host any jail, or None."""
    if sys.platform != "linux":
        name = {"darwin": "macOS", "win32": "Windows"}.get(sys.platform, sys.platform)
        return (f"the sandbox needs Linux (bubblewrap or Landlock, plus seccomp); {name} has "
                "neither. Run inside a Linux VM or container, or opt out with "
                "RLMConfig(sandbox=\"unsafe-local\") for trusted code only (no jail: unsafe)")
    if platform.machine() not in SUPPORTED_ARCHES:
        return (f"the seccomp filter supports {' and '.join(SUPPORTED_ARCHES)}, not "
                f"{platform.machine()}; opt out with sandbox=\"unsafe-local\" (unsafe)")
    return None


def seccomp_status() -> TierStatus:
    """Seccomp filters are needed under every tier."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            status = fh.read()
    except OSError as exc:
        return TierStatus("seccomp", False, f"cannot read /proc/self/status: {exc}")
    if "Seccomp:" not in status:
        return TierStatus("seccomp", False, "the kernel was built without seccomp")
    return TierStatus("seccomp", True, "seccomp filters available")


def bwrap_status() -> TierStatus:
    """Tier 1: bubblewrap installed and able to create namespaces here."""
    from .bwrap import bwrap_path, bwrap_version, probe_bwrap

    problem = platform_problem()
    if problem:
        return TierStatus("bwrap", False, problem)
    binary = bwrap_path()
    if binary is None:
        return TierStatus("bwrap", False, "bubblewrap is not installed "
                          "(`apt-get install bubblewrap`)")
    version = ".".join(map(str, bwrap_version(binary)))
    details = {"binary": binary, "version": version}
    try:
        why_not = probe_bwrap(binary)
    except Exception as exc:  # any surprise means: not available
        why_not = f"probe failed: {exc}"
    if why_not:
        return TierStatus("bwrap", False, f"{why_not} (user namespaces may be disabled, as in "
                          "many containers)", details)
    seccomp = seccomp_status()
    if not seccomp.available:
        return TierStatus("bwrap", False, seccomp.reason, details)
    return TierStatus("bwrap", True, f"bubblewrap {version} can create user namespaces",
                      details)


def landlock_status() -> TierStatus:
    """Tier 2: a kernel with Landlock (5.13+) and seccomp."""
    problem = platform_problem()
    if problem:
        return TierStatus("landlock", False, problem)
    try:
        from ..worker.lockdown import landlock_abi

        abi = landlock_abi()
    except Exception as exc:
        return TierStatus("landlock", False, f"cannot query Landlock: {exc}")
    details = {"abi": str(abi)}
    if abi < 1:
        return TierStatus("landlock", False, "the kernel has no Landlock (needs Linux 5.13+ "
                          "with landlock in the lsm= boot list)", details)
    seccomp = seccomp_status()
    if not seccomp.available:
        return TierStatus("landlock", False, seccomp.reason, details)
    scope = "with" if abi >= 6 else "without"
    tcp = "with" if abi >= 4 else "without"
    return TierStatus("landlock", True, f"Landlock ABI {abi} ({tcp} TCP rules, {scope} "
                      "signal/abstract-socket scoping)", details)


def all_tiers() -> list[TierStatus]:
    """Every jailing tier, best first."""
    return [bwrap_status(), landlock_status()]


def choose_tier(sandbox: str) -> tuple[TierStatus, list[TierStatus]]:
    """The tier to use for `sandbox` ("auto", "bwrap", "landlock"), and every tier's status.

    Raises SandboxUnavailable, naming what is missing and how to fix it, when none fits.
    """
    from ...errors import ConfigError, SandboxUnavailable

    if sandbox not in ("auto", "bwrap", "landlock"):
        raise ConfigError(f"unknown sandbox mode {sandbox!r}: use auto, bwrap, landlock or "
                          "unsafe-local")
    tiers = all_tiers() if sandbox == "auto" else [
        bwrap_status() if sandbox == "bwrap" else landlock_status()]
    available = [t for t in tiers if t.available]
    if len(available) > 1:  # auto: the tier that enforces more here; bubblewrap on a tie
        from .limits import enforced_count

        scores = [enforced_count(t.name, t.details.get("binary")) for t in available]
        return available[scores.index(max(scores))], tiers
    if available:
        return available[0], tiers
    why = "; ".join(f"{t.name}: {t.reason}" for t in tiers)
    raise SandboxUnavailable(f"no sandbox tier is available for sandbox={sandbox!r} ({why}). "
                             f"To fix it, {INSTALL_HINT}.")
