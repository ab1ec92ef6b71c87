"""The test command CI runs: every check runs, and any failing one fails the command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = {"python": "pytest", "ruff": "ruff", "mypy": "mypy", "mkdocs": "mkdocs"}


def fake_checkout(tmp_path: Path, codes: dict[str, int]) -> Path:
    """A copy of scripts/test.sh whose setup does nothing and whose tools exit with `codes`,
    each recording the arguments it was called with."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test.sh", repo / "scripts" / "test.sh")
    (repo / "scripts" / "setup.sh").write_text("exit 0\n")
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for exe, name in TOOLS.items():
        tool = bin_dir / exe
        tool.write_text(f'#!/bin/sh\necho "$*" >> "{repo}/calls.{name}"\nexit {codes.get(name, 0)}\n')
        tool.chmod(0o755)
    return repo


def run_test_command(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(repo / "scripts" / "test.sh"), *args],
                          capture_output=True, text=True, timeout=60)


def test_the_ci_script_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/test.sh    # installs everything" in readme
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == "exec bash scripts/test.sh"


def test_all_checks_run_and_pass(tmp_path: Path) -> None:
    repo = fake_checkout(tmp_path, {})
    done = run_test_command(repo, "tests/engine", "-x")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "calls.pytest").read_text() == "-m pytest --durations=15 tests/engine -x\n"
    assert (repo / "calls.ruff").read_text() == "check src tests bench\n"
    assert (repo / "calls.mypy").read_text() == "\n"
    assert (repo / "calls.mkdocs").read_text().startswith("build --strict")


@pytest.mark.parametrize("failing", ["pytest", "ruff", "mypy", "mkdocs"])
def test_any_failing_check_fails_the_command_after_all_have_run(
        tmp_path: Path, failing: str) -> None:
    repo = fake_checkout(tmp_path, {failing: 1})
    done = run_test_command(repo)
    assert done.returncode == 1
    assert all((repo / f"calls.{name}").exists() for name in TOOLS.values())
    assert "failed:" in done.stdout and failing in done.stdout.split("failed:")[1]


def test_pytest_collecting_nothing_is_a_failure_that_says_so(tmp_path: Path) -> None:
    repo = fake_checkout(tmp_path, {"pytest": 5})
    done = run_test_command(repo, "-k", "no_such_test")
    assert done.returncode == 1
    assert "pytest collected no tests (exit 5)" in done.stdout
