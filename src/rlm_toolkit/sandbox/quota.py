"""The worker's scratch folder on the host: its quota, its modes, and who owns it.

RLIMIT_FSIZE caps each file, not how many there are, so the host measures the folder while the
worker lives and stops a worker that writes past the quota (bytes on disk or entries), nests
folders past a depth no program needs, makes a setuid/setgid file, or opens the folder to other
users. The walk goes by directory descriptors, so paths longer than PATH_MAX are counted too.
On close the host scrubs what is left (no setuid/setgid bits, nothing readable by others, links
never followed), and folders left by hosts that died are reaped when the next worker starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass

MIB = 1024 * 1024
MAX_DEPTH = 128  # folders nested deeper than this stop the worker (no program needs it)
SCRATCH_PREFIX = "rlm-scratch-"
SCRATCH_MODE = 0o700
UNSAFE_BITS = stat.S_ISUID | stat.S_ISGID
_TAG = re.compile(r"^(\d+)\.(\d+)-")


@dataclass(frozen=True)
class Usage:
    """What a scratch folder holds: bytes on disk, entries, and anything unsafe found."""

    bytes: int
    entries: int
    unsafe: str | None = None  # a setuid/setgid file, an opened folder, a too-deep tree


def _walk(root: str, stop_bytes: int, stop_entries: int) -> Usage:
    used = entries = 0
    try:
        top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return Usage(0, 0)
    if stat.S_IMODE(os.fstat(top).st_mode) & 0o077:
        os.close(top)
        return Usage(0, 0, "the scratch folder was opened to other users")
    stack = [(top, 0)]
    try:
        while stack:
            fd, depth = stack.pop()
            try:
                with os.scandir(fd) as listing:
                    for entry in listing:
                        entries += 1
                        try:
                            st = entry.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        used += st.st_blocks * 512  # real usage: sparse files count less
                        if st.st_mode & UNSAFE_BITS:
                            return Usage(used, entries, "the code made a setuid or setgid file "
                                         "in its scratch folder")
                        if used > stop_bytes or entries > stop_entries:
                            return Usage(used, entries)
                        if stat.S_ISDIR(st.st_mode):
                            if depth + 1 > MAX_DEPTH:
                                return Usage(used, entries, "the code nested folders over "
                                             f"{MAX_DEPTH} deep in its scratch folder")
                            with contextlib.suppress(OSError):
                                stack.append((os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY |
                                                      os.O_NOFOLLOW, dir_fd=fd), depth + 1))
            except OSError:
                pass
            finally:
                os.close(fd)
    finally:
        for fd, _ in stack:
            os.close(fd)
    return Usage(used, entries)


def _children() -> list[int]:
    """The pids of this process's children (of every thread)."""
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), \
                    open(f"/proc/self/task/{task}/children", encoding="ascii") as fh:
                pids += [int(p) for p in fh.read().split()]
    return pids


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _workers(root: str, pids: list[int] | None) -> list[int]:
    """The worker's processes: `pids`, else the children of this host working in `root`, and
    their descendants (bubblewrap's init and the worker inside the jail)."""
    if pids is None:
        real = os.path.realpath(root)
        pids = []
        for pid in _children():
            with contextlib.suppress(OSError):
                if _under(os.readlink(f"/proc/{pid}/cwd"), real):
                    pids.append(pid)
    found: list[int] = []
    todo = list(pids)
    while todo and len(found) < 64:
        pid = todo.pop()
        found.append(pid)
        with contextlib.suppress(OSError), \
                open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            todo += [int(p) for p in fh.read().split()]
    return found


def jail_scratch(root: str, pids: list[int] | None = None) -> str | None:
    """The bubblewrap jail's in-memory /scratch as the host can reach it
    (/proc/<worker>/root/scratch), or None where the worker shares the host's root."""
    try:
        own = os.stat("/proc/self/root")
    except OSError:
        return None
    for pid in reversed(_workers(root, pids)):
        with contextlib.suppress(OSError):
            theirs = os.stat(f"/proc/{pid}/root")
            if (theirs.st_dev, theirs.st_ino) != (own.st_dev, own.st_ino):
                path = f"/proc/{pid}/root/scratch"
                if os.path.isdir(path):
                    return path
    return None


def held_unlinked(root: str, pids: list[int] | None = None) -> int:
    """Bytes of files on scratch's file system that the worker holds open with no name left
    (unlinked, or made with O_TMPFILE): the walk cannot see them, /proc/<pid>/fd can.

    `pids` are the worker's processes; by default, the children of this host whose working
    folder is in `root`. Needs the right to read the worker's /proc/<pid>/fd (a root host,
    or a worker that stays dumpable); 0 where it cannot look.
    """
    try:
        device = os.stat(root).st_dev
    except OSError:
        return 0
    held = 0
    pids = _workers(root, pids)
    seen: set[tuple[int, int]] = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 0 and st.st_dev == device and \
                    (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                held += st.st_blocks * 512
    return held


def scratch_usage(root: str, stop_bytes: int, stop_entries: int,
                  pids: list[int] | None = None) -> Usage:
    """Bytes on disk and entries under `root`; stops counting once past either limit or at
    the first unsafe thing (a setuid/setgid file, a folder opened to others, a too-deep tree).

    Files the worker holds open after unlinking them (or made with O_TMPFILE) count too.
    """
    usage = _walk(root, stop_bytes, stop_entries)
    if usage.unsafe or usage.bytes > stop_bytes or usage.entries > stop_entries:
        return usage
    jailed = jail_scratch(root, pids)
    if jailed is not None:  # bubblewrap: the tmpfs holds it all (the kernel caps its bytes)
        inside = _walk(jailed, stop_bytes, stop_entries)
        try:  # the file system's own count includes files with no name left
            fs = os.statvfs(jailed)
            used = max(inside.bytes, (fs.f_blocks - fs.f_bfree) * fs.f_frsize)
        except OSError:
            used = inside.bytes
        return Usage(usage.bytes + used, usage.entries + inside.entries, inside.unsafe)
    return Usage(usage.bytes + held_unlinked(root, pids), usage.entries)


def over_quota(usage: Usage, limit_bytes: int, max_entries: int) -> str | None:
    """Why `usage` breaks the quota (or the scratch folder's safety), or None."""
    if usage.unsafe:
        return usage.unsafe
    if usage.bytes > limit_bytes:
        return (f"the code wrote over {limit_bytes // MIB} MB to its scratch directory "
                "(the scratch quota)")
    if usage.entries > max_entries:
        return f"the code created over {max_entries} files in its scratch directory"
    return None


def empty_dir(root: str) -> None:
    """Remove everything inside `root`, keeping `root` itself (links are removed, not followed)."""
    with os.scandir(root) as listing:
        for entry in listing:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def scrub_scratch(path: str) -> list[str]:
    """Make what the worker left in `path` harmless to other users of the host.

    Clears setuid, setgid and sticky bits and every group/other permission on each file and
    folder, never following a symbolic link (links are removed), resets the folder to 0700,
    and removes the worker's cgroups once its processes are gone. Returns what it changed.
    """
    changed: list[str] = []
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        _release_cgroups(path)
        return changed
    stack = [(top, ".")]
    while stack:
        fd, where = stack.pop()
        try:
            st = os.fstat(fd)
            if stat.S_IMODE(st.st_mode) & ~SCRATCH_MODE:
                os.fchmod(fd, stat.S_IMODE(st.st_mode) & SCRATCH_MODE)
                changed.append(where)
            with os.scandir(fd) as listing:
                for entry in listing:
                    name = os.path.join(where, entry.name)
                    try:
                        est = entry.stat(follow_symlinks=False)
                        if stat.S_ISLNK(est.st_mode) or (
                                not stat.S_ISDIR(est.st_mode) and est.st_nlink > 1):
                            # a link may name a host file: remove the name, never touch the file
                            os.unlink(entry.name, dir_fd=fd)
                            changed.append(name)
                        elif stat.S_ISDIR(est.st_mode):
                            stack.append((os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY |
                                                  os.O_NOFOLLOW, dir_fd=fd), name))
                        elif stat.S_IMODE(est.st_mode) & ~0o700:
                            child = os.open(entry.name, os.O_PATH | os.O_NOFOLLOW, dir_fd=fd)
                            try:  # fchmod on an O_PATH fd is refused: go through /proc
                                os.chmod(f"/proc/self/fd/{child}",
                                         stat.S_IMODE(est.st_mode) & 0o700)
                            finally:
                                os.close(child)
                            changed.append(name)
                    except OSError:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.name, dir_fd=fd)  # cannot fix it: remove it
                            changed.append(name)
        except OSError:
            pass
        finally:
            os.close(fd)
    _release_cgroups(path)
    return changed


def _release_cgroups(path: str) -> None:
    from .jail.cgroup import release

    with contextlib.suppress(OSError):
        release(path)


# --- who owns a scratch folder ---------------------------------------------------------------
def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()[19]


def host_tag() -> str:
    """`<pid>.<start time>` of this process: names its scratch folders and cgroups."""
    return f"{os.getpid()}.{_start_time(os.getpid()) or 0}"


def owner_alive(name: str) -> bool:
    """Whether the host named at the start of `name` (`<pid>.<start>-...`) still runs.

    Names of another shape are kept (True): they are not ours to remove.
    """
    match = _TAG.match(name)
    if match is None:
        return True
    return _start_time(int(match.group(1))) == match.group(2)


def reap_stale_scratch(base: str | None = None) -> list[str]:
    """Remove the scratch folders (and cgroups) of hosts that died; return what was removed.

    Only folders named by `ensure_scratch`, owned by this user and not links are touched. Empty
    cgroups whose scratch folder is gone (a worker that closed while its last process was
    still exiting) are removed as well; a cgroup with a process in it never is.
    """
    base = base or tempfile.gettempdir()
    removed: list[str] = []
    with contextlib.suppress(OSError), os.scandir(base) as listing:
        for entry in listing:
            if not entry.name.startswith(SCRATCH_PREFIX):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or \
                    owner_alive(entry.name[len(SCRATCH_PREFIX):]):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    from .jail.cgroup import reap

    def in_use(name: str) -> bool:  # a closed worker's cgroup goes too, once it is empty
        return owner_alive(name) and os.path.isdir(os.path.join(base, SCRATCH_PREFIX + name))

    with contextlib.suppress(OSError):
        reap(in_use)
    return removed
