"""The examples of the README's memory section run, and print what the page says they print.

A ```python block runs in a fresh interpreter unless its first line starts with `# needs`
(an API key or a server). When a ```text block follows it directly, that is its exact output.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _page() -> str:
    """The README's memory section."""
    text = README.read_text()
    start = text.index("## Memory")
    return text[start:text.index("\n## ", start + 1)]


BLOCK = re.compile(r"```python\n(.*?)```\n(?:\n?```text\n(.*?)```)?", re.S)


def _examples() -> list[tuple[str, str | None]]:
    found = [(code, out) for code, out in BLOCK.findall(_page()) if code.strip()]
    return [(code, out or None) for code, out in found if not code.startswith("# needs")]


def test_the_page_has_runnable_examples() -> None:
    assert len(_examples()) >= 2
    assert "hmem.add_episode(\"The user likes Python\")" in _page()


@pytest.mark.parametrize("index", range(len(_examples())))
def test_example_runs_as_documented(index: int, tmp_path: Path) -> None:
    code, expected = _examples()[index]
    if "wordllama" in code and importlib.util.find_spec("wordllama") is None:
        print("SKIP: wordllama is not installed (pip install 'rlm-toolkit[embeddings]')")
        pytest.skip("wordllama is not installed: pip install 'rlm-toolkit[embeddings]'")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == 0, proc.stderr
    if expected is not None:
        assert proc.stdout == expected
