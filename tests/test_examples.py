"""The scripts under examples/ run, and print what the pages that quote them say they print."""

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


def test_scripted_example_prints_what_the_readme_and_the_guide_say() -> None:
    out = run_example("scripted_run.py")
    assert out.splitlines()[0] == "4417 success 2"
    documented = "print(result.answer, result.status, result.iterations)     # 4417 success 2"
    script = (ROOT / "examples" / "scripted_run.py").read_text()
    for page in ("README.md", "docs/usage.md"):
        text = (ROOT / page).read_text()
        assert documented in text, page
        # the page quotes the script's code, line for line
        quoted = text[text.index("doc = \"filler line"):text.index(documented)]
        assert quoted in script, page
