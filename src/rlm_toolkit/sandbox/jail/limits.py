"""What each tier enforces here, and by which mechanism: the host's side of `rlm doctor`.

Every limit is listed for every tier, with `enforced` False and the reason where this machine
(or the tier) cannot enforce it, so a user sees the gaps rather than guessing them.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass
from typing import Any

from . import cgroup
from .policy import FILE_SIZE_LIMIT, MIB, OPEN_FILES_LIMIT, PIDS_LIMIT


@dataclass(frozen=True)
class Limit:
    """One property of the jail: whether it holds here, and what makes it hold."""

    name: str
    enforced: bool
    mechanism: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cgroup_limits(support: cgroup.CgroupSupport) -> list[Limit]:
    if support.memory:
        memory = Limit("memory", True, f"{support.reason}: memory limit of the worker's own "
                       "cgroup (counts shared memory, memfd and tmpfs pages) plus RLIMIT_AS; "
                       "set only when memory_limit_mb is given")
    else:
        memory = Limit("memory", False, "RLIMIT_AS only (address space): shared memory and "
                       f"tmpfs pages are not counted; {support.reason}")
    if support.pids:
        pids = Limit("pids", True, f"{support.reason}: pids.max={PIDS_LIMIT} (threads and "
                     "processes of the worker's cgroup)")
    else:
        pids = Limit("pids", False, f"no task cap from a cgroup: {support.reason}")
    return [memory, pids]


def bwrap_limits(binary: str) -> list[Limit]:
    """The bubblewrap tier's limits on this machine."""
    from .bwrap import NOBODY, drops_uid, in_memory_scratch

    limits = [Limit("host files hidden", True, "a mount namespace with a minimal root: host "
                    "files outside the system folders do not exist in the jail"),
              Limit("sysctls read-only", True, "/proc/sys, /proc/sysrq-trigger, /proc/irq, "
                    "/proc/bus, /proc/fs bound read-only over the jail's own /proc")]
    if drops_uid(binary):
        limits.append(Limit("unprivileged uid", True, f"uid/gid {NOBODY} on the host "
                            "(setpriv before bubblewrap), no groups"))
    elif os.geteuid() == 0:
        limits.append(Limit("unprivileged uid", False, "the jail runs as host root (uid 0, no "
                            "capabilities): bubblewrap is older than 0.8 (scratch stays a "
                            "host folder), setpriv or unshare is missing, or uid 65534 cannot "
                            "start the interpreter"))
    else:
        limits.append(Limit("unprivileged uid", True, f"the host's own uid {os.geteuid()} "
                            "(not root)"))
    if in_memory_scratch(binary):
        limits.append(Limit("scratch nosuid, size-limited", True, "a tmpfs of scratch_limit_mb "
                            "inside the jail (nosuid, nodev, mode 0700): nothing reaches the "
                            "host's disk, the kernel refuses writes past the size (ENOSPC), "
                            "unlinked and O_TMPFILE files included"))
    else:
        limits.append(Limit("scratch nosuid, size-limited", False, "bubblewrap < 0.8 cannot "
                            "size a tmpfs: scratch is a host folder, nosuid/nodev in the jail, "
                            "watched by the host's quota and scrubbed on close"))
    return limits + _cgroup_limits(cgroup.detect())


def landlock_limits() -> list[Limit]:
    """The Landlock tier's limits on this machine."""
    base = tempfile.gettempdir()
    try:
        nosuid = bool(os.statvfs(base).f_flag & os.ST_NOSUID)
    except OSError:
        nosuid = False
    limits = [
        Limit("host files hidden", False, "Landlock denies opening host files, but stat() "
              "still shows their existence, size, owner and times (no mount namespace)"),
        Limit("sysctls read-only", True, "Landlock grants no access under /proc but "
              "/proc/self: /proc/sys cannot be opened"),
        Limit("unprivileged uid", os.geteuid() != 0, f"the host's own uid {os.geteuid()}"
              + (" (root, without capabilities): this tier cannot change uid; use bubblewrap"
                 if os.geteuid() == 0 else "")),
        Limit("scratch nosuid, size-limited", nosuid, f"a host folder under {base} "
              f"({'nosuid' if nosuid else 'not nosuid'}), mode 0700 checked by the host, "
              "setuid/setgid files stop the worker and are scrubbed on close; the host's "
              "quota watcher counts bytes, entries and depth, but not unlinked or O_TMPFILE "
              f"files still open (up to {OPEN_FILES_LIMIT} open files of at most "
              f"min(scratch_limit_mb, {FILE_SIZE_LIMIT // MIB} MB) each)"),
    ]
    return limits + _cgroup_limits(cgroup.detect())


def tier_limits(name: str, binary: str | None = None) -> list[Limit]:
    """The limits of tier `name` ("bwrap" or "landlock") on this machine."""
    if name == "bwrap":
        from .bwrap import bwrap_path

        found = binary or bwrap_path()
        return bwrap_limits(found) if found else []
    return landlock_limits()


def enforced_count(name: str, binary: str | None = None) -> int:
    """How many of the listed limits tier `name` enforces here (auto picks the most)."""
    return sum(limit.enforced for limit in tier_limits(name, binary))
