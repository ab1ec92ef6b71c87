"""The README's runnable examples run and print what the README says they print."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_example(name: str) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / name)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_scripted_example_matches_readme() -> None:
    out = run_example("scripted_run.py")
    assert out.splitlines()[0] == "4417 success 2"
    readme = (ROOT / "README.md").read_text()
    assert "print(result.answer, result.status, result.iterations)     # 4417 success 2" in readme
