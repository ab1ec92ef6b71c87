"""The documentation's examples run, and print what the pages say they print.

Every ```python block of README.md and docs/**/*.md runs in a fresh interpreter, in an empty
temporary folder, unless it needs what a test machine lacks (an API key, a server, the local
model): then its first line is a comment `# needs ...`, or the line right above the block is an
HTML comment `<!-- needs ... -->` (for examples quoted exactly, such as the README's first).
When a ```text block follows a python block directly, it is that block's exact output.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

BLOCK = re.compile(r"^```python\n(.*?)^```\n(?:\n?```text\n(.*?)^```\n)?", re.S | re.M)
NEEDS_COMMENT = re.compile(r"<!--\s*needs\b.*-->\s*$")

# A block that uses one of these packages is skipped, with the hint, when it is not installed.
OPTIONAL = {"wordllama": "embeddings", "psycopg": "postgres", "usearch": "ann"}


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    code: str
    output: str | None
    needs: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def examples(page: Path) -> list[Example]:
    """The ```python blocks of one page, each with its expected output and what it needs."""
    text = page.read_text()
    found = []
    for match in BLOCK.finditer(text):
        code, output = match.group(1), match.group(2)
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        first = code.lstrip().split("\n", 1)[0]
        needs = None
        if NEEDS_COMMENT.match(before):
            needs = before
        elif first.startswith("# needs"):
            needs = first
        line = text.count("\n", 0, match.start()) + 1
        found.append(Example(page, line, code, output, needs))
    return found


ALL = [ex for page in PAGES for ex in examples(page)]
RUNNABLE = [ex for ex in ALL if ex.needs is None]


def run_code(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180, cwd=cwd, env=env)


def test_the_pages_are_found_and_hold_examples() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/index.md", "docs/memory.md", "docs/providers.md",
            "docs/sandbox.md", "docs/usage.md", "docs/trace.md"} <= names
    pages_run = {ex.page.name for ex in RUNNABLE}
    assert {"README.md", "memory.md", "providers.md", "sandbox.md", "usage.md",
            "trace.md"} <= pages_run
    assert sum(ex.output is not None for ex in RUNNABLE) >= 4


def test_examples_that_are_not_run_say_what_they_need() -> None:
    skipped = [ex for ex in ALL if ex.needs is not None]
    # The README opens with the seed example, quoted exactly: it needs an Ollama server.
    first = examples(ROOT / "README.md")[0]
    assert 'RLM.from_ollama("llama3")' in first.code and first.needs is not None
    assert all(len(ex.needs or "") > len("# needs ") for ex in skipped)


@pytest.mark.parametrize("example", RUNNABLE, ids=[ex.id for ex in RUNNABLE])
def test_example_runs_as_documented(example: Example, tmp_path: Path) -> None:
    for module, extra in OPTIONAL.items():
        if module in example.code and importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install 'rlm-toolkit[{extra}]'")
    proc = run_code(example.code, tmp_path)
    assert proc.returncode == 0, f"{example.id} failed:\n{proc.stderr}"
    if example.output is not None:
        assert proc.stdout == example.output, f"{example.id} printed:\n{proc.stdout}"


def test_the_sandbox_attack_prints_what_the_page_shows(tmp_path: Path) -> None:
    """The attack example's output depends on the tier; the page shows the bwrap tier's."""
    from rlm_toolkit.sandbox.jail import all_tiers

    if not any(t.available for t in all_tiers()):
        pytest.skip("no sandbox tier on this machine: apt-get install bubblewrap")
    page = (ROOT / "docs" / "sandbox.md").read_text()
    (attack,) = [ex for ex in examples(ROOT / "docs" / "sandbox.md") if "attack = " in ex.code]
    proc = run_code(attack.code, tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[2] in ("read /etc/passwd -> FileNotFoundError",
                        "read /etc/passwd -> PermissionError"), proc.stdout + proc.stderr
    assert lines[3:5] == ["open a socket -> PermissionError", "run a program -> PermissionError"]
    assert lines[-1] == "31 success"
    lines[2] = "read /etc/passwd -> FileNotFoundError"  # as the bwrap tier, shown on the page
    assert "````text\n" + "\n".join(lines) + "\n````" in page


def _anchors(page: Path) -> set[str]:
    """The heading anchors of a page, as GitHub and MkDocs both spell them for plain headings."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    heads = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_the_readme_links_reach_existing_pages_and_headings() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#([^)\s]+))?\)", readme)
    local = [(path, anchor) for path, anchor in links if "://" not in path]
    assert len(local) >= 10
    for path, anchor in local:
        target = ROOT / path
        assert target.is_file(), f"README links to a missing file: {path}"
        if anchor:
            assert anchor in _anchors(target), f"README links to a missing heading: {path}#{anchor}"
