"""Without the [serve] or [mcp] extra, the commands say which extra to install, in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCKED = ("import sys\nfor name in {names!r}:\n    sys.modules[name] = None\n"
           "from rlm_toolkit.cli.main import main\nsys.exit(main({argv!r}))")


@pytest.mark.parametrize(("command", "names", "extra"), [
    ("serve", ["uvicorn"], "[serve]"),
    ("mcp", ["mcp", "mcp.server", "mcp.server.fastmcp"], "[mcp]"),
])
def test_a_missing_extra_is_one_line(command: str, names: list[str], extra: str) -> None:
    code = BLOCKED.format(names=names, argv=[command, "--model", "openai/m"])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert f"rlm {command} needs the {extra} extra" in lines[0]
    assert f"pip install 'rlm-toolkit{extra}'" in lines[0]
