"""The scratch quota and the scratch folder's safety, judged on the host.

bubblewrap: scratch is a size-limited tmpfs inside the jail, so the kernel refuses writes past
the quota (unlinked and O_TMPFILE files included) and nothing reaches the host's disk.
Landlock: scratch is a host folder the host watches: bytes (with files held open after
unlink), entries, depth, set-id bits and its mode; it is scrubbed on close.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rlm_toolkit.sandbox import Worker, WorkerOptions, quota
from rlm_toolkit.sandbox.launch import ensure_scratch

MIB = 1 << 20


async def _no_calls(method: str, args: dict) -> None:
    raise AssertionError("no LLM calls expected")


def _host_scratch_dirs() -> set[str]:
    base = Path(os.environ.get("TMPDIR", "/tmp"))
    return {str(p) for p in base.glob(f"{quota.SCRATCH_PREFIX}{quota.host_tag()}-*")}


# --- the host-side functions -------------------------------------------------------------------
def test_a_setuid_or_setgid_file_or_an_opened_folder_breaks_the_quota(tmp_path: Path) -> None:
    root = tmp_path / "scratch"
    root.mkdir(mode=0o700)
    (root / "plain").write_bytes(b"x")
    assert quota.over_quota(quota.scratch_usage(str(root), MIB, 100), MIB, 100) is None
    for bits in (stat.S_ISUID, stat.S_ISGID):
        (root / "plain").chmod(0o755 | bits)
        why = quota.over_quota(quota.scratch_usage(str(root), MIB, 100), MIB, 100)
        assert why and "setuid or setgid" in why
    (root / "plain").chmod(0o644)
    root.chmod(0o777)
    why = quota.over_quota(quota.scratch_usage(str(root), MIB, 100), MIB, 100)
    assert why and "opened to other users" in why


def test_files_past_path_max_and_deep_trees_are_seen(tmp_path: Path) -> None:
    """A tree deeper than PATH_MAX allows by name: the walk goes by descriptors."""
    root = tmp_path / "scratch"
    root.mkdir(mode=0o700)
    fd = os.open(root, os.O_RDONLY)
    name = "d" * 200
    for _ in range(40):  # 40 x 201 characters: past PATH_MAX (4096)
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    leaf = os.open("big", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd)
    os.write(leaf, b"x" * (2 * MIB))
    os.close(leaf)
    os.close(fd)
    usage = quota.scratch_usage(str(root), MIB, 10_000)
    assert usage.bytes > MIB and "over 1 MB" in (quota.over_quota(usage, MIB, 10_000) or "")
    assert usage.entries >= 40


def test_a_tree_nested_past_the_depth_limit_breaks_the_quota(tmp_path: Path) -> None:
    root = tmp_path / "scratch"
    root.mkdir(mode=0o700)
    fd = os.open(root, os.O_RDONLY)
    for _ in range(quota.MAX_DEPTH + 2):
        os.mkdir("a", dir_fd=fd)
        child = os.open("a", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    why = quota.over_quota(quota.scratch_usage(str(root), MIB, 10_000), MIB, 10_000)
    assert why and f"over {quota.MAX_DEPTH} deep" in why


def test_files_held_open_after_unlink_count(tmp_path: Path) -> None:
    """Unlinked and O_TMPFILE files of a child process count against its scratch quota."""
    root = tmp_path / "scratch"
    root.mkdir(mode=0o700)
    holder = textwrap.dedent("""
        import os, sys
        a = os.open('gone', os.O_CREAT | os.O_RDWR, 0o600)
        os.unlink('gone')
        os.write(a, b'x' * (3 << 20))
        b = os.open('.', os.O_TMPFILE | os.O_RDWR, 0o600)
        os.write(b, b'y' * (3 << 20))
        print('held', flush=True)
        sys.stdin.read()
    """)
    child = subprocess.Popen([sys.executable, "-c", holder], cwd=root, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        assert os.listdir(root) == []  # nothing the walk could see
        usage = quota.scratch_usage(str(root), 100 * MIB, 100)
        assert usage.bytes >= 6 * MIB, usage
        assert quota.held_unlinked(str(root), [child.pid]) >= 6 * MIB
    finally:
        child.kill()
        child.wait(10)


def test_scrub_clears_set_id_bits_and_open_modes_and_never_follows_links(tmp_path: Path
                                                                        ) -> None:
    host_file = tmp_path / "host-file"
    host_file.write_text("host")
    host_file.chmod(0o4755)
    root = tmp_path / "scratch"
    (root / "sub").mkdir(parents=True)
    (root / "suid").write_bytes(b"\x7fELF")
    (root / "suid").chmod(0o4755)
    (root / "sub" / "sgid").write_bytes(b"x")
    (root / "sub" / "sgid").chmod(0o2777)
    (root / "sub").chmod(0o2777)
    (root / "link").symlink_to(host_file)
    os.link(host_file, root / "hard")
    root.chmod(0o777)

    changed = quota.scrub_scratch(str(root))

    assert changed
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for path in (root / "suid", root / "sub", root / "sub" / "sgid"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o6077 == 0, (path, oct(mode))
    assert not (root / "link").is_symlink() and not (root / "hard").exists()
    # the host file behind the links is untouched
    assert stat.S_IMODE(host_file.stat().st_mode) == 0o4755
    assert host_file.read_text() == "host"


def test_stale_scratch_of_a_dead_host_is_reaped_and_live_ones_are_kept(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f"{quota.SCRATCH_PREFIX}{dead_pid}.1-abc"
    stale.mkdir()
    (stale / "left").write_text("x")
    mine = tmp_path / f"{quota.SCRATCH_PREFIX}{quota.host_tag()}-abc"
    mine.mkdir()
    other = tmp_path / f"{quota.SCRATCH_PREFIX}not-ours"
    other.mkdir()
    link = tmp_path / f"{quota.SCRATCH_PREFIX}{dead_pid}.1-link"
    link.symlink_to(mine)

    removed = quota.reap_stale_scratch(str(tmp_path))

    assert removed == [str(stale)]
    assert not stale.exists() and mine.exists() and other.exists() and link.is_symlink()
    fresh = ensure_scratch(str(tmp_path))
    assert Path(fresh).name.startswith(f"{quota.SCRATCH_PREFIX}{quota.host_tag()}-")
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o700


# --- through a real worker ---------------------------------------------------------------------
FILL_SCRATCH = """
import time
for i in range(200):  # at most 200 MB even if nothing stopped it
    with open(f'part{i}.bin', 'wb') as fh:
        fh.write(b'x' * (1 << 20))
time.sleep(60)
"""
MANY_FILES = """
import time
for i in range(5000):
    open(f'empty{i}', 'w').close()
time.sleep(60)
"""
HIDDEN_FILL = """
import os, time
held, made = [], 0
def unlinked(i):
    fd = os.open(f'u{i}', os.O_CREAT | os.O_RDWR, 0o600)
    os.unlink(f'u{i}')
    return fd
def tmpfile(i):
    return os.open('.', os.O_TMPFILE | os.O_RDWR, 0o600)
try:
    for i in range(200):  # at most 200 MB even if nothing stopped it
        fd = (unlinked, tmpfile)[i % 2](i)
        held.append(fd)
        os.write(fd, b'x' * (1 << 20))
        made += 1
except OSError as e:
    print('REFUSED', made, e.errno)
os.chdir('/')  # the host still finds it
time.sleep(60)
"""


@pytest.mark.parametrize("code", [FILL_SCRATCH, HIDDEN_FILL], ids=["named", "unlinked"])
async def test_the_scratch_byte_quota_holds_and_the_next_step_starts_clean(tier: str, code: str
                                                                          ) -> None:
    options = WorkerOptions(sandbox=tier, step_timeout_s=30, scratch_limit_mb=16)
    before = _host_scratch_dirs()
    async with Worker("ctx", options) as worker:
        host_scratch = worker._scratch
        if tier == "bwrap":  # the kernel refuses the 17th MB: the step sees ENOSPC
            probe = code.replace("time.sleep(60)", "print('DONE')")
            step = await worker.execute(probe, _no_calls)
            assert "No space left on device" in (step.error or "") or "REFUSED" in step.stdout
            assert "REFUSED 16 28" in step.stdout or "REFUSED" not in step.stdout, step.stdout
            assert os.listdir(host_scratch) == []  # nothing reached the host's disk
            jailed = quota.jail_scratch(host_scratch)  # the jail's tmpfs, seen from the host
            assert jailed is not None, "the jail's scratch tmpfs is not visible from the host"
            assert 0 < quota.scratch_usage(host_scratch, 1 << 40, 1 << 30).bytes <= 16 * MIB
            fs = os.statvfs(jailed)
            assert fs.f_blocks * fs.f_frsize == 16 * MIB
        else:  # the host's watcher stops the worker
            step = await worker.execute(code, _no_calls)
            assert step.lost_state and "over 16 MB to its scratch directory" in step.lost_state
            assert "scratch files are removed" in (step.error or "")
        step = await worker.execute("import os\nprint(sorted(os.listdir('.')), len(context))",
                                    _no_calls)
        if tier == "bwrap":  # the worker lives on, its files too: only the 17th MB was refused
            assert step.stdout.strip().endswith(" 3") and step.error is None, step
        else:  # restarted with an empty scratch
            assert step.stdout.strip() in ("[] 3", "['.tmp'] 3"), step
    assert _host_scratch_dirs() - before == set(), "a scratch folder outlived its worker"


async def test_the_file_count_quota_holds(tier: str) -> None:
    options = WorkerOptions(sandbox=tier, step_timeout_s=30, scratch_max_files=500)
    async with Worker("ctx", options) as worker:
        step = await worker.execute(MANY_FILES, _no_calls)  # bwrap: seen in the jail's tmpfs
        assert step.lost_state and "over 500 files" in step.lost_state, step


def test_an_empty_cgroup_of_a_closed_worker_is_reaped_and_a_busy_one_kept(tmp_path: Path
                                                                         ) -> None:
    from rlm_toolkit.sandbox.jail import cgroup

    support = cgroup.detect()
    if not support.pids_parent:
        pytest.skip(f"no writable pids cgroup here: {support.reason}")
    closed = f"{quota.SCRATCH_PREFIX}{quota.host_tag()}-closed"  # its folder is gone
    live = tmp_path / f"{quota.SCRATCH_PREFIX}{quota.host_tag()}-live"
    live.mkdir()
    made = [Path(support.pids_parent, cgroup.group_name(n)) for n in (closed, str(live))]
    for path in made:
        path.mkdir()
    try:
        quota.reap_stale_scratch(str(tmp_path))
        assert not made[0].exists(), "the closed worker's cgroup was left"
        assert made[1].exists(), "a live worker's cgroup was removed"
    finally:
        for path in made:
            with contextlib.suppress(OSError):
                path.rmdir()
