"""Locks the worker down before any model code runs: rlimits, capabilities, Landlock, seccomp.

Runs inside the worker after its own imports and before the first step, so it uses only the
standard library and ctypes. Every part fails closed: an error raises `LockdownError`, the
worker exits before it says it is ready, and the host refuses to run the code.

The policy comes from the host as a dict:
    {"rlimits": {"as": bytes | None, "fsize": bytes, "nofile": n, "core": 0},
     "landlock": None | {"ro": [paths], "rw": [paths]},
     "die_with_parent": True, "drop_privileges": True, "seccomp": True}
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
import stat
import struct
from typing import Any


class LockdownError(RuntimeError):
    """The worker could not lock itself down; it must not run model code."""


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

_ARCH = platform.machine()
# Syscall numbers for the two supported architectures: (x86_64, aarch64); None = absent.
_SYSCALLS: dict[str, tuple[int | None, int | None]] = {
    "socket": (41, 198), "socketpair": (53, 199), "execve": (59, 221), "execveat": (322, 281),
    "fork": (57, None), "vfork": (58, None), "clone": (56, 220), "clone3": (435, 435),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "bpf": (321, 280), "mount": (165, 40), "umount2": (166, 39), "unshare": (272, 97),
    "setns": (308, 268), "pivot_root": (155, 41), "chroot": (161, 51), "move_mount": (429, 429),
    "open_tree": (428, 428), "fsopen": (430, 430), "fsconfig": (431, 431),
    "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "userfaultfd": (323, 282), "perf_event_open": (298, 241), "setrlimit": (160, 164),
    "prlimit64": (302, 261), "kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138), "rt_tgsigqueueinfo": (297, 240),
    "pidfd_send_signal": (424, 424), "pidfd_open": (434, 434), "pidfd_getfd": (438, 438),
    "reboot": (169, 142), "kexec_load": (246, 104), "kexec_file_load": (320, 294),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "iopl": (172, None), "ioperm": (173, None), "swapon": (167, 224), "swapoff": (168, 225),
    "acct": (163, 89), "quotactl": (179, 60), "syslog": (103, 116),
    "settimeofday": (164, 170), "clock_settime": (227, 112), "clock_adjtime": (305, 266),
    "adjtimex": (159, 171), "sethostname": (170, 161), "setdomainname": (171, 162),
    "mknod": (133, None), "mknodat": (259, 33), "name_to_handle_at": (303, 264),
    "open_by_handle_at": (304, 265), "kcmp": (312, 272), "fanotify_init": (300, 262),
    "lookup_dcookie": (212, 18), "vhangup": (153, 58), "uselib": (134, None),
    "_sysctl": (156, None), "nfsservctl": (180, 42), "process_madvise": (440, 440),
    "capget": (125, 90), "capset": (126, 91), "seccomp": (317, 277),
    # SysV IPC and POSIX message queues: objects shared with the host where no IPC namespace is.
    "shmget": (29, 194), "shmat": (30, 196), "shmctl": (31, 195), "shmdt": (67, 197),
    "msgget": (68, 186), "msgsnd": (69, 189), "msgrcv": (70, 188), "msgctl": (71, 187),
    "semget": (64, 190), "semop": (65, 193), "semctl": (66, 191), "semtimedop": (220, 192),
    "mq_open": (240, 180), "mq_unlink": (241, 181), "mq_timedsend": (242, 182),
    "mq_timedreceive": (243, 183), "mq_notify": (244, 184), "mq_getsetattr": (245, 185),
    # Calls that act on another process by pid: allowed on this process only.
    "setpriority": (141, 140), "ioprio_set": (251, 30), "sched_setparam": (142, 118),
    "sched_setscheduler": (144, 119), "sched_setaffinity": (203, 122),
    "sched_setattr": (314, 274), "migrate_pages": (256, 238), "move_pages": (279, 239),
    "fcntl": (72, 25), "ioctl": (16, 29),
    # File metadata Landlock does not govern (modes, owners, times, attributes, watches).
    "chmod": (90, None), "fchmod": (91, 52), "fchmodat": (268, 53), "fchmodat2": (452, 452),
    "chown": (92, None), "fchown": (93, 55), "lchown": (94, None), "fchownat": (260, 54),
    "utime": (132, None), "utimes": (235, None), "utimensat": (280, 88),
    "futimesat": (261, None), "file_getattr": (468, 468), "file_setattr": (469, 469),
    "setxattr": (188, 5), "lsetxattr": (189, 6), "fsetxattr": (190, 7), "getxattr": (191, 8),
    "lgetxattr": (192, 9), "fgetxattr": (193, 10), "listxattr": (194, 11),
    "llistxattr": (195, 12), "flistxattr": (196, 13), "removexattr": (197, 14),
    "lremovexattr": (198, 15), "fremovexattr": (199, 16), "setxattrat": (463, 463),
    "getxattrat": (464, 464), "listxattrat": (465, 465), "removexattrat": (466, 466),
    "inotify_init": (253, None), "inotify_init1": (294, 26), "inotify_add_watch": (254, 27),
    "fanotify_mark": (301, 263),
    # Memory the host would hold outside the worker's address space.
    "memfd_create": (319, 279), "memfd_secret": (447, 447),
    # Outliving the host, changing identity, naming sockets, mounts, global flushes.
    "prctl": (157, 167), "setsid": (112, 157), "setpgid": (109, 154),
    "setuid": (105, 146), "setgid": (106, 144), "setreuid": (113, 145),
    "setregid": (114, 143), "setresuid": (117, 147), "setresgid": (119, 149),
    "setfsuid": (122, 151), "setfsgid": (123, 152), "setgroups": (116, 159),
    "bind": (49, 200), "connect": (42, 203), "listen": (50, 201), "accept": (43, 202),
    "accept4": (288, 242), "statmount": (457, 457), "listmount": (458, 458),
    "open_tree_attr": (467, 467), "quotactl_fd": (443, 443), "sync": (162, 81),
    "syncfs": (306, 267), "io_setup": (206, 0), "modify_ldt": (154, None),
    "open": (2, None), "openat": (257, 56), "creat": (85, None), "openat2": (437, 437),
    "get_robust_list": (274, 100),
}
# Denied outright with EPERM: no new programs, processes, namespaces, kernel objects or
# peeking at other processes.
DENIED = (
    "socket", "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv",
    "process_vm_writev", "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf",
    "mount", "umount2", "unshare", "setns", "pivot_root", "chroot", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "keyctl", "add_key",
    "request_key", "userfaultfd", "perf_event_open", "setrlimit", "tkill",
    "pidfd_send_signal", "pidfd_open", "pidfd_getfd", "reboot", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "iopl", "ioperm",
    "swapon", "swapoff", "acct", "quotactl", "syslog", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "mknod", "mknodat",
    "name_to_handle_at", "open_by_handle_at", "kcmp", "fanotify_init", "lookup_dcookie",
    "vhangup", "uselib", "_sysctl", "nfsservctl", "process_madvise",
    "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl", "semget",
    "semop", "semctl", "semtimedop", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
    "mq_notify", "mq_getsetattr",
    # Landlock governs opening files, not their metadata: a mode, owner, time or watch on a
    # host file it may read would change or reveal the host's file. Scratch needs none of it.
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "utime", "utimes", "utimensat", "futimesat", "file_getattr", "file_setattr",
    "inotify_init", "inotify_init1", "inotify_add_watch", "fanotify_mark",
    # The context memfd comes from the host; a new one is memory outside RLIMIT_AS.
    "memfd_create", "memfd_secret",
    # A new session or group, or another identity (which clears the parent-death signal).
    "setsid", "setpgid", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
    "setfsuid", "setfsgid", "setgroups",
    # Naming a socket (an abstract name the host wants), or reaching one by name.
    "bind", "connect", "listen", "accept", "accept4",
    "statmount", "listmount", "open_tree_attr", "quotactl_fd", "sync", "syncfs",
    # Linux AIO contexts come from one machine-wide pool (fs.aio-max-nr): the host's too.
    "io_setup", "modify_ldt",
)
# Extended attributes answer "not supported", as on a file system without them, so copying
# code (shutil.copy2) carries on; reading them could return a host file's secret.
UNSUPPORTED = (
    "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
    "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "setxattrat",
    "getxattrat", "listxattrat", "removexattrat",
)
# prctl options that would let the worker outlive the host or be traced: the parent-death
# signal, dumpable, keep-caps, securebits, mm fields, subreaper, Yama's ptracer.
PRCTL_DENIED = (1, 4, 8, 28, 35, 36, 0x59616D61)
# Allowed only when their first argument names this process (0 or its own pid).
SELF_ONLY = ("sched_setparam", "sched_setscheduler", "sched_setaffinity", "sched_setattr",
             "migrate_pages", "move_pages", "get_robust_list")
# Allowed only with which == "a process" and who == this process (0 or its own pid).
SELF_ONLY_WHO = {"setpriority": 0, "ioprio_set": 1}  # PRIO_PROCESS, IOPRIO_WHO_PROCESS
# fcntl/ioctl commands that make the kernel signal a chosen process when I/O is ready
# (F_SETOWN, F_SETSIG, F_SETOWN_EX; FIOSETOWN, SIOCSPGRP, TIOCSPGRP): a way to kill the host.
# Also: F_SETLEASE (stalls the host's open of a file the worker can read), F_NOTIFY (watches
# a host folder), F_SETPIPE_SZ (pipe buffers are kernel memory outside RLIMIT_AS).
FCNTL_DENIED = (8, 10, 15, 1024, 1026, 1031)
# ... and file flags/attributes on a file opened read-only (FS_IOC_SETFLAGS and its 32-bit
# form, FS_IOC_FSSETXATTR, FS_IOC_SETVERSION x2, FS_IOC_ENABLE_VERITY), terminal input
# injection (TIOCSTI, TIOCLINUX).
IOCTL_DENIED = (0x8901, 0x8902, 0x5410, 0x40086602, 0x40046602, 0x401C5820, 0x40087602,
                0x40047602, 0x40806685, 0x5412, 0x541C)
# Creating a file whose mode carries S_ISUID/S_ISGID: where the mode argument is.
OPEN_MODE_ARG = {"open": 2, "openat": 3, "creat": 1}
SET_ID_BITS = 0o6000
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000
CLONE_THREAD = 0x00010000
CLONE_NAMESPACES = 0x7E020080  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
AF_UNIX = 1
SOCK_STREAM = 1
SOCK_TYPE_MASK = 0xF  # the type without SOCK_NONBLOCK / SOCK_CLOEXEC


def nr(name: str) -> int | None:
    """The syscall number of `name` on this machine, or None where it does not exist."""
    pair = _SYSCALLS[name]
    return pair[0] if _ARCH == "x86_64" else pair[1]


def _syscall(name: str, *args: Any) -> int:
    number = nr(name)
    if number is None:
        raise LockdownError(f"syscall {name} does not exist on {_ARCH}")
    result = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise LockdownError(f"{name} failed: {os.strerror(err)} (errno {err})")
    return int(result)


def _prctl(option: int, arg: int = 0) -> int:
    result = _libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                         ctypes.c_ulong(0))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}) failed: {os.strerror(err)}")
    return int(result)


# --- rlimits ------------------------------------------------------------------------------
RLIMITS = {
    "as": resource.RLIMIT_AS,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
}
# RLIMIT_NPROC: how many more threads the worker may start. The kernel counts the tasks of the
# real uid (per user namespace), so the limit is set to that count plus this budget.
THREAD_BUDGET = 128


def set_rlimits(limits: dict[str, int | None]) -> None:
    """Lower each limit (soft and hard) to the value given; None leaves it as it is.

    "nproc" is the number of new threads allowed, not a raw limit: see `cap_threads`.
    """
    for key, value in limits.items():
        if value is None or key == "nproc":
            continue
        which = RLIMITS[key]
        _soft, hard = resource.getrlimit(which)
        new = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (new, new))


def tasks_of_uid(uid: int) -> int:
    """How many tasks (threads) of real uid `uid` this process can see in /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as fh:
                status = fh.read()
        except OSError:
            continue  # gone, or not ours to read
        try:  # only the two fields needed: this runs over every process at each start
            at = status.index(b"\nUid:") + 5
            if int(status[at:status.index(b"\n", at)].split()[0]) == uid:
                at = status.index(b"\nThreads:") + 9
                total += int(status[at:status.index(b"\n", at)])
        except (ValueError, IndexError):
            continue
    return total


def cap_threads(budget: int, own_uid: bool = False) -> dict[str, Any]:
    """Let this uid start at most `budget` more tasks (RLIMIT_NPROC); report whether the kernel
    enforces it (it never does for uid 0 of the initial user namespace). `own_uid`: no other
    process has this uid, so only this process's threads count."""
    uid = os.getuid()
    limit = (_own_threads() if own_uid else tasks_of_uid(uid)) + budget
    _soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    enforced = _kernel_uid(uid) != 0
    return {"nproc": limit, "enforced": enforced,
            "why": "" if enforced else "uid 0 is exempt from RLIMIT_NPROC"}


def _own_threads() -> int:
    with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise LockdownError("/proc/self/status has no thread count")


def _kernel_uid(uid: int) -> int:
    """The uid outside every user namespace that `uid` of this process maps to."""
    try:
        with open("/proc/self/uid_map", encoding="ascii") as fh:
            for line in fh:
                inside, outside, count = (int(x) for x in line.split())
                if inside <= uid < inside + count:
                    return outside + uid - inside
    except (OSError, ValueError):
        pass
    return uid


# --- identity -----------------------------------------------------------------------------
COUNT_UID_BASE = 0x7F000000  # per-worker real uids: COUNT_UID_BASE + pid, unused by accounts


def count_as(uid: int) -> None:
    """Make `uid` this process's real uid, keeping effective, saved and file-system uid 0.

    Files are checked by the file-system uid, so what the worker may open does not change;
    the kernel counts tasks against RLIMIT_NPROC by the real uid, and exempts uid 0 only.
    The seccomp filter then denies every set*uid call, so the worker cannot switch back.
    """
    os.setresuid(uid, 0, 0)
    if os.getresuid() != (uid, 0, 0):
        raise LockdownError(f"could not take the real uid {uid} for the thread count")


def _count_uid(policy: dict[str, Any]) -> int | None:
    """A per-worker real uid when the worker runs as root outside any user namespace (the
    Landlock tier as root), else None: there the kernel would not count its threads."""
    if policy.get("seccomp", True) and os.getuid() == 0 and _uid_map_is_identity():
        return COUNT_UID_BASE + os.getpid()
    return None


def _uid_map_is_identity() -> bool:
    """True in the initial user namespace (every uid maps to itself)."""
    try:
        with open("/proc/self/uid_map", encoding="ascii") as fh:
            return fh.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


# --- capabilities -------------------------------------------------------------------------
class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_CAP_V3 = 0x20080522
CAP_SETPCAP = 8


def _capget() -> tuple[int, int]:
    header = _CapHeader(_CAP_V3, 0)
    data = (_CapData * 2)()
    _syscall("capget", ctypes.byref(header), ctypes.byref(data))
    eff = data[0].effective | (data[1].effective << 32)
    perm = data[0].permitted | (data[1].permitted << 32)
    return eff, perm


def drop_capabilities() -> None:
    """Drop every capability: bounding set, ambient, effective, permitted, inheritable."""
    eff, perm = _capget()
    if eff & (1 << CAP_SETPCAP):
        for cap in range(64):
            try:
                _prctl(PR_CAPBSET_DROP, cap)
            except OSError as exc:
                if exc.errno == errno.EINVAL:  # past the last capability
                    break
                raise LockdownError(f"could not drop capability {cap}: {exc}") from None
    try:
        _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # kernels without ambient capabilities
            raise LockdownError(f"could not clear ambient capabilities: {exc}") from None
    if eff or perm:
        header = _CapHeader(_CAP_V3, 0)
        _syscall("capset", ctypes.byref(header), ctypes.byref((_CapData * 2)()))
    if _capget() != (0, 0):
        raise LockdownError("capabilities are still held after dropping them")


# --- Landlock -----------------------------------------------------------------------------
LANDLOCK_CREATE_RULESET = 444
LANDLOCK_ADD_RULE = 445
LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_TRUNCATE, FS_IOCTL_DEV = 1 << 14, 1 << 15
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
# What "/proc/self" allows: the process's own state. Never net/ (the host's sockets and ports
# where no network namespace is), task/ (its per-thread net/), mounts, or the links root/cwd.
PROC_SELF_ENTRIES = ("fd", "fdinfo", "stat", "statm", "status", "maps", "smaps",
                     "smaps_rollup", "cmdline", "comm", "environ", "limits", "auxv", "io",
                     "cgroup", "oom_score")
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is unavailable."""
    result = _libc.syscall(ctypes.c_long(LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0),
                           ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(result), 0)


def fs_rights(abi: int) -> int:
    """Every filesystem right the given ABI knows, so all of them are handled (denied)."""
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= 1 << 13  # REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def apply_landlock(ro: list[str], rw: list[str]) -> dict[str, Any]:
    """Restrict this process to reading `ro` and reading/writing `rw`; no TCP; scoped."""
    abi = landlock_abi()
    if abi < 1:
        raise LockdownError("Landlock is not available in this kernel")
    handled = fs_rights(abi)
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    fields = [handled] + ([net] if abi >= 4 else []) + ([scoped] if abi >= 6 else [])
    attr = ctypes.create_string_buffer(struct.pack(f"<{len(fields)}Q", *fields))
    ruleset = _syscall_raw(LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(len(attr.raw)),
                           ctypes.c_uint32(0), what="landlock_create_ruleset")
    try:
        read = FS_READ_FILE | FS_READ_DIR
        for paths, rights in ((ro, read), (rw, handled)):
            for path in paths:
                if path == "/proc/self":
                    for entry in PROC_SELF_ENTRIES:
                        _add_path_rule(ruleset, f"/proc/self/{entry}", rights, follow=False)
                else:
                    _add_path_rule(ruleset, path, rights)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        _syscall_raw(LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0),
                     what="landlock_restrict_self")
    finally:
        os.close(ruleset)
    return {"abi": abi, "tcp": bool(net), "scoped": bool(scoped)}


def _add_path_rule(ruleset: int, path: str, rights: int, follow: bool = True) -> None:
    flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return  # nothing there to allow
    try:
        if not follow and stat.S_ISLNK(os.fstat(fd).st_mode):
            return  # /proc/self/root, cwd, exe: links that would allow their targets
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        _syscall_raw(LANDLOCK_ADD_RULE, ruleset, ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                     ctypes.byref(rule), ctypes.c_uint32(0), what=f"landlock_add_rule({path})")
    finally:
        os.close(fd)


def _syscall_raw(number: int, *args: Any, what: str) -> int:
    result = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise LockdownError(f"{what} failed: {os.strerror(err)} (errno {err})")
    return int(result)


# --- seccomp ------------------------------------------------------------------------------
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_JSET_K = 0x45
BPF_AND_K = 0x54
BPF_RET_K = 0x06
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
OFF_NR, OFF_ARCH = 0, 4


def _arg_lo(i: int) -> int:
    return 16 + 8 * i  # little-endian: low word first (x86_64 and aarch64)


def _arg_hi(i: int) -> int:
    return 20 + 8 * i


Insn = tuple[int, int, int, int]


def _ld(offset: int) -> Insn:
    return (BPF_LD_W_ABS, 0, 0, offset)


def _jump(op: int, k: int, jt: int, jf: int) -> Insn:
    return (op, jt, jf, k)


def _ret(value: int) -> Insn:
    return (BPF_RET_K, 0, 0, value)


def _errno(code: int) -> Insn:
    return _ret(RET_ERRNO | code)


def _self_check(arg: int, pid: int, fail: int) -> list[Insn]:
    """Fall through when argument `arg` is 0 or `pid` (both words); else skip `fail` more
    instructions past the check. Clobbers A."""
    return [
        _ld(_arg_hi(arg)),
        _jump(BPF_JEQ_K, 0, 0, 3 + fail),
        _ld(_arg_lo(arg)),
        _jump(BPF_JEQ_K, 0, 1, 0),
        _jump(BPF_JEQ_K, pid, 0, fail),
    ]


def build_filter(pid: int) -> list[Insn]:
    """The BPF program: native arch only, the DENIED list, and argument-checked calls."""
    if _ARCH not in AUDIT_ARCH:
        raise LockdownError(f"the seccomp filter supports x86_64 and aarch64, not {_ARCH}")
    prog: list[Insn] = [
        _ld(OFF_ARCH),
        _jump(BPF_JEQ_K, AUDIT_ARCH[_ARCH], 1, 0),
        _ret(RET_KILL_PROCESS),
        _ld(OFF_NR),
    ]
    if _ARCH == "x86_64":  # x32 ABI calls: a second numbering that would dodge the list
        prog += [_jump(BPF_JGE_K, X32_SYSCALL_BIT, 0, 1), _errno(errno.EPERM)]

    def guarded(name: str, block: list[Insn]) -> None:
        number = nr(name)
        if number is not None:  # each block ends in a return, so A still holds nr after it
            prog.append(_jump(BPF_JEQ_K, number, 0, len(block)))
            prog.extend(block)

    # First, as every file opened passes here: no new file born setuid/setgid (the mode is
    # ignored without O_CREAT/O_TMPFILE, so refusing those bits always costs nothing).
    for name, arg in OPEN_MODE_ARG.items():
        guarded(name, [_ld(_arg_lo(arg)), _jump(BPF_JSET_K, SET_ID_BITS, 0, 1),
                       _errno(errno.EPERM), _ret(RET_ALLOW)])
    # openat2 passes its mode in memory BPF cannot read: ENOSYS, as on kernels before 5.6.
    guarded("openat2", [_errno(errno.ENOSYS)])
    for name in DENIED:
        guarded(name, [_errno(errno.EPERM)])
    for name in UNSUPPORTED:
        guarded(name, [_errno(errno.EOPNOTSUPP)])
    checks = [_jump(BPF_JEQ_K, opt, len(PRCTL_DENIED) - i, 0)
              for i, opt in enumerate(PRCTL_DENIED)]
    guarded("prctl", [_ld(_arg_lo(0)), *checks, _ret(RET_ALLOW), _errno(errno.EPERM)])
    # clone3 passes flags in memory BPF cannot read: ENOSYS makes glibc fall back to clone.
    guarded("clone3", [_errno(errno.ENOSYS)])
    # clone: threads only (CLONE_THREAD set), never new namespaces.
    guarded("clone", [
        _ld(_arg_lo(0)),
        _jump(BPF_JSET_K, CLONE_THREAD, 1, 0),
        _errno(errno.EPERM),
        _jump(BPF_JSET_K, CLONE_NAMESPACES, 0, 1),
        _errno(errno.EPERM),
        _ret(RET_ALLOW),
    ])
    # socketpair: only connected AF_UNIX stream pairs (asyncio's self-pipe). Datagram pairs
    # are refused: sendto() with an address on one reaches any unix socket by path or name.
    guarded("socketpair", [
        _ld(_arg_lo(0)),
        _jump(BPF_JEQ_K, AF_UNIX, 0, 4),
        _ld(_arg_lo(1)),
        (BPF_AND_K, 0, 0, SOCK_TYPE_MASK),
        _jump(BPF_JEQ_K, SOCK_STREAM, 0, 1),
        _ret(RET_ALLOW),
        _errno(errno.EPERM),
    ])
    # prlimit64: reading this process's limits (new_limit == NULL) only; never raising them.
    guarded("prlimit64", [
        *_self_check(0, pid, fail=5),
        _ld(_arg_lo(2)),
        _jump(BPF_JEQ_K, 0, 0, 3),
        _ld(_arg_hi(2)),
        _jump(BPF_JEQ_K, 0, 0, 1),
        _ret(RET_ALLOW),
        _errno(errno.EPERM),
    ])
    for name in SELF_ONLY:
        guarded(name, [*_self_check(0, pid, fail=1), _ret(RET_ALLOW), _errno(errno.EPERM)])
    for name, which in SELF_ONLY_WHO.items():
        guarded(name, [
            _ld(_arg_lo(0)),
            _jump(BPF_JEQ_K, which, 0, 1 + len(_self_check(1, pid, fail=0))),
            *_self_check(1, pid, fail=1),
            _ret(RET_ALLOW),
            _errno(errno.EPERM),
        ])
    for name, commands in (("fcntl", FCNTL_DENIED), ("ioctl", IOCTL_DENIED)):
        checks = [_jump(BPF_JEQ_K, cmd, len(commands) - i, 0) for i, cmd in enumerate(commands)]
        guarded(name, [_ld(_arg_lo(1)), *checks, _ret(RET_ALLOW), _errno(errno.EPERM)])
    # Signals: only to this process (or its own group), never to the host or anyone else.
    guarded("kill", [
        _ld(_arg_lo(0)),
        _jump(BPF_JEQ_K, pid, 1, 0),
        _jump(BPF_JEQ_K, 0, 0, 1),
        _ret(RET_ALLOW),
        _errno(errno.EPERM),
    ])
    for name in ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        guarded(name, [
            _ld(_arg_lo(0)),
            _jump(BPF_JEQ_K, pid, 0, 1),
            _ret(RET_ALLOW),
            _errno(errno.EPERM),
        ])
    prog.append(_ret(RET_ALLOW))
    return prog


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(prog: list[Insn]) -> None:
    """Install the filter for every thread of this process (no_new_privs first)."""
    raw = b"".join(struct.pack("<HBBI", *insn) for insn in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = _SockFprog(len(prog), ctypes.addressof(buf))
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _syscall("seccomp", ctypes.c_uint(SECCOMP_SET_MODE_FILTER),
             ctypes.c_uint(SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(fprog))


# --- all together -------------------------------------------------------------------------
def apply(policy: dict[str, Any]) -> dict[str, Any]:
    """Apply the host's policy; raises LockdownError unless every requested part is in force."""
    report: dict[str, Any] = {}
    try:
        rlimits = policy.get("rlimits") or {}
        set_rlimits(rlimits)
        landlock = policy.get("landlock")
        counted = _count_uid(policy)
        if counted is not None:
            count_as(counted)
            report["real_uid"] = counted
        if policy.get("die_with_parent"):  # the host dies, so does the worker, even mid-step
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if policy.get("drop_privileges", True):
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
            _prctl(PR_SET_DUMPABLE, 0)
            drop_capabilities()
        if policy.get("seccomp", True):  # before Landlock hides /proc from the count
            report["threads"] = cap_threads(int(rlimits.get("nproc") or THREAD_BUDGET),
                                            own_uid=counted is not None)
        if landlock:
            report["landlock"] = apply_landlock(list(landlock.get("ro", [])),
                                                list(landlock.get("rw", [])))
        if policy.get("seccomp", True):
            install_seccomp(build_filter(os.getpid()))
            report["seccomp"] = True
    except LockdownError:
        raise
    except (OSError, ValueError) as exc:
        raise LockdownError(f"the worker could not lock itself down: {exc}") from exc
    return report
