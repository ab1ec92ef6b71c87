"""The attack suite again, as an unprivileged user: a root host and a user's host differ (the
jail's uid, who may write cgroups, which files the kernel lets a uid touch), so both must hold.

When the tests run as root, this re-runs tests/sandbox/test_attacks.py as uid/gid 65534 with
no groups. Where the interpreter lives under a folder other users cannot enter (a Python under
/root), a private mount namespace of the child makes just the interpreter's folders reachable;
the host's own mounts are untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from rlm_toolkit.sandbox.jail.bwrap import NOBODY, reachable_by_others
from rlm_toolkit.sandbox.jail.policy import interpreter_paths

from .attacks import ATTACKS
from .conftest import PROJECT_DIR

# Run as root in the child's private mount namespace: for each folder F others cannot reach,
# bind F aside, cover its first closed ancestor A with an open tmpfs, and bind F back under it.
REACH = r'''
set -e
stage=$1; shift
i=0
while [ "$1" != -- ]; do
  closed=$1; wanted=$2; shift 2
  mkdir -p "$stage/$i"; mount --bind "$wanted" "$stage/$i"
  if ! mountpoint -q "$closed"; then mount -t tmpfs -o mode=0755 rlm-reach "$closed"; fi
  mkdir -p "$wanted"; mount --bind "$stage/$i" "$wanted"
  i=$((i+1))
done
shift
exec "$@"
'''


def _closed_ancestor(path: str) -> str | None:
    """The top-most folder on the way to `path` that other users cannot enter, if any."""
    parts = Path(os.path.realpath(path)).parts
    for i in range(2, len(parts) + 1):
        folder = str(Path(*parts[:i]))
        if not reachable_by_others(folder) and folder != os.path.realpath(path):
            return folder
    return None


def _reach_args(stage: str) -> list[str]:
    steps: list[str] = []
    for path in interpreter_paths():
        if reachable_by_others(path):
            continue
        closed = _closed_ancestor(path)
        if closed is None:
            pytest.skip(f"{path} itself is closed to other users")
        steps += [closed, os.path.realpath(path)]
    if not steps:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("util-linux unshare is missing")
    return [unshare, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", REACH,
            "rlm-reach", stage, *steps, "--"]


def test_the_attack_suite_holds_for_an_unprivileged_host(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the tests already run as an unprivileged user (this re-run needs root)")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("util-linux setpriv is missing")
    if not reachable_by_others(str(PROJECT_DIR)):
        pytest.skip(f"uid {NOBODY} cannot read the project at {PROJECT_DIR}")
    home = Path(tempfile.mkdtemp(prefix="rlm-nobody-"))
    try:
        os.chown(home, NOBODY, NOBODY)
        stage = tmp_path / "stage"
        stage.mkdir()
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home),
               "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        argv = [*_reach_args(str(stage)), setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}",
                "--clear-groups", "--", sys.executable, "-m", "pytest", "-q",
                "-p", "no:cacheprovider", f"--basetemp={home}/pytest", "-W", "ignore",
                "tests/sandbox/test_attacks.py"]
        done = subprocess.run(argv, cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                              timeout=1500)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, tail
    # both tiers ran every attack (a tier missing for 65534 would show as skips)
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed >= 2 * len(ATTACKS), summary
