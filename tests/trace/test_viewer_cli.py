"""`rlm trace view`, `rlm trace show`, `rlm run --view`, and what a damaged trace file gets."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from rlm_toolkit.cli.main import main
from rlm_toolkit.errors import ConfigError
from rlm_toolkit.testing.servers import OpenAIServer
from rlm_toolkit.trace.export import load_jsonl
from rlm_toolkit.trace.terminal import show
from rlm_toolkit.trace.viewer import from_jsonl, from_trace
from rlm_toolkit.trace.viewer.html import render_html, script_json
from tests.trace.runs import (
    ANSWER,
    HOSTILE,
    add_credit_line,
    credit_for,
    credit_line,
    scripted_run,
    synthetic_trace,
)

FINAL = "```repl\nFINAL('forty-two')\n```"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("run") / "run.jsonl"
    scripted_run(path)
    if not credit_line(path):
        add_credit_line(path, credit_for(path, ANSWER))
    return path


def page_data(html: str) -> dict:
    start = html.index('<script id="trace-data" type="application/json">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(body)


# --- the page's data ---------------------------------------------------------------------


def test_script_json_cannot_close_its_element_and_reads_back_the_same() -> None:
    value = {"a": HOSTILE, "b": "x\ud800y\udfff", "c": "<!--<script>&amp;\u2028"}
    text = script_json(value)
    assert not any(ch in text for ch in "<>&\u2028\u2029")
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    text.encode("utf-8")  # a lone surrogate would fail here
    assert json.loads(text) == value


def test_the_page_carries_the_whole_tree_and_fetches_nothing(saved: Path) -> None:
    html = render_html(from_jsonl(saved))
    data = page_data(html)
    assert data["answer"] == ANSWER and data["status"] == "success"
    kinds = [n["k"] for n in data["nodes"]]
    assert kinds.count("iteration") == 4 and kinds.count("llm") == 7
    assert kinds.count("child_run") == 1 and kinds.count("code") == 4
    # no URL the browser could fetch: no src/href attribute, no url(), no @import
    lowered = html.lower()
    for needle in ("src=", "href=", "url(", "@import", "http://", "https://"):
        assert needle not in lowered.replace(script_json(data).lower(), ""), needle
    assert "default-src 'none'" in html and "connect-src 'none'" in html


def test_a_live_trace_and_its_saved_file_give_the_same_nodes(tmp_path: Path) -> None:
    trace = synthetic_trace(12)
    path = tmp_path / "t.jsonl"
    trace.save(path)
    live, loaded = from_trace(trace), from_jsonl(path)
    assert [(n.kind, n.label, n.parent) for n in live.nodes] == \
        [(n.kind, n.label, n.parent) for n in loaded.nodes]
    assert live.answer == loaded.answer == "done"
    assert loaded.query == "count the errors"


# --- rlm trace view / show ---------------------------------------------------------------


def test_trace_view_writes_the_page_next_to_the_trace(saved: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(saved.read_bytes())
    assert main(["trace", "view", str(copy)]) == 0
    page = copy.with_suffix(".html")
    assert page_data(page.read_text(encoding="utf-8"))["answer"] == ANSWER
    assert f"wrote {page}" in capsys.readouterr().err
    out = tmp_path / "elsewhere.html"
    assert main(["trace", "view", str(copy), "-o", str(out)]) == 0
    assert out.exists() and not list(tmp_path.glob("*.tmp"))


def test_trace_view_refuses_an_output_in_a_missing_folder(
        saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "no" / "page.html"
    assert main(["trace", "view", str(saved), "-o", str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"rlm: error: -o {str(target)!r}: the folder {str(target.parent)!r} does "
                   "not exist; create it first or choose another path")


def test_trace_show_prints_the_tree_with_badges(saved: Path) -> None:
    buf = io.StringIO()
    show(from_jsonl(saved), Console(file=buf, width=200, force_terminal=False))
    text = buf.getvalue()
    assert text.startswith(f"RLM run success  answer: {ANSWER}")
    assert text.count("iteration ") >= 4 and "child run summarise the notes" in text
    assert "sub-call scripted/sub" in text and "→ 4417" in text
    line = next(ln for ln in text.splitlines() if "→ 4417" in ln)
    above = text.splitlines()[text.splitlines().index(line) - 1]
    assert "✓ fed answer" in above  # the answering sub-call's badge
    assert text.count("✗ wasted") >= 5
    info = credit_line(saved)
    wasted = info.get("wasted_tokens", sum(r["tokens"] for r in info["records"]
                                           if not r["contributed"]))
    assert f"wasted {wasted:,} tokens" in text


def test_trace_show_escapes_terminal_control_characters() -> None:
    trace = synthetic_trace(2, answer="\x1b[2Jgone [bold]x[/bold]")
    call = trace.spans("llm")[0]
    call.attrs["response"] = "\x1b]0;pwned\x07\x1b[2J\u202eevil \x9b31m [red]red[/red]"
    call.error = "bad \x1b[31m\ud800"
    buf = io.StringIO()
    show(from_trace(trace), Console(file=buf, width=400, force_terminal=False))
    text = buf.getvalue()
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e\ud800")
    assert "→ \\x1b]0;pwned\\x07\\x1b[2J\\u202eevil \\x9b31m [red]red[/red]" in text
    assert "⚠ bad \\x1b[31m\\ud800" in text
    assert "answer: \\x1b[2Jgone [bold]x[/bold]" in text  # markup shown, not applied


def test_trace_show_on_the_command_line(saved: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "rlm_toolkit.cli.main", "trace", "show",
                           str(saved)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"answer: {ANSWER}" in done.stdout and "\x1b]0;" not in done.stdout


def test_trace_show_cuts_long_child_lists() -> None:
    buf = io.StringIO()
    show(from_trace(synthetic_trace(120)), Console(file=buf, width=160, force_terminal=False))
    text = buf.getvalue()
    assert text.count("sub-call scripted/sub") == 50
    note = next(ln for ln in text.splitlines() if "… 70 more" in ln)
    assert note.endswith("(the HTML view shows them all: rlm trace view)")


# --- damaged files -----------------------------------------------------------------------


def one_line_error(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["trace", "show", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, no traceback
    return lines[0]


def test_a_truncated_trace_names_the_line(saved: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = saved.read_bytes()
    lines = data.split(b"\n")
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"\n".join(lines[:2]) + b"\n" + lines[2][:50])
    assert one_line_error(cut, capsys) == (
        f"rlm: error: trace file {str(cut)!r}, line 3 is cut off (the file ends mid-line at "
        "column 51): the trace was not saved whole")
    whole_lines = tmp_path / "lines.jsonl"
    whole_lines.write_bytes(b"\n".join(lines[:3]) + b"\n")
    assert one_line_error(whole_lines, capsys) == (
        f"rlm: error: trace file {str(whole_lines)!r} ends at line 3 without its `result` "
        "line: the file was cut off, so the run's outcome is missing")


@pytest.mark.parametrize(("edit", "says"), [
    (lambda s: s.replace('"type": "iteration"', '"type": "iteration",', 1),
     "line 2 is not valid JSON (Expecting property name enclosed in double quotes"),
    (lambda s: s.replace('"spans": {', '"spanz": {', 1),
     "line 2: an iteration line without its span tree (`spans`)"),
    (lambda s: s.replace('"kind": "iteration"', '"kind": 7', 1),
     "line 2: a span without a kind (found 7)"),
    (lambda s: s.replace('"children": []', '"children": {}', 1),
     "has children that are not a list of spans"),
    (lambda s: s.replace('"start": ', '"start": "soon", "x": ', 1),
     "has a start of 'soon', not a number"),
])
def test_a_hand_edited_trace_names_the_line(saved: Path, tmp_path: Path, edit: object,
                                            says: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "edited.jsonl"
    path.write_text(edit(saved.read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[operator]
    line = one_line_error(path, capsys)
    assert line.startswith(f"rlm: error: trace file {str(path)!r}") and says in line, line


def test_other_damage_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.jsonl"
    assert one_line_error(missing, capsys) == \
        f"rlm: error: trace file {str(missing)!r} does not exist"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert one_line_error(empty, capsys) == \
        f"rlm: error: trace file {str(empty)!r} is empty: it holds no trace"
    listed = tmp_path / "list.jsonl"
    listed.write_text('{"type": "metadata"}\n[1, 2]\n')
    assert one_line_error(listed, capsys) == (
        f"rlm: error: trace file {str(listed)!r}, line 2 is a JSON list, not an object; "
        "a trace holds one JSON object a line")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b'{"type": "metadata"}\n\xff\xfe\n')
    assert "line 2 is not UTF-8 text (byte 1)" in one_line_error(binary, capsys)
    with pytest.raises(ConfigError, match="is a folder"):
        load_jsonl(tmp_path)


# --- rlm run --view ----------------------------------------------------------------------


def answering(body: dict) -> str:
    return "```repl\nprint(len(context))\n```" if len(body["messages"]) == 2 else FINAL


def test_rlm_run_view_writes_the_page_after_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("some text")
    page = tmp_path / "run.html"
    with OpenAIServer(answering) as server:
        code = main(["run", "--context", str(doc), "-q", "how long?", "--model", "openai/m",
                     "--base-url", server.base_url, "--quiet", "--view", str(page)])
    assert code == 0
    assert capsys.readouterr().out.strip() == "forty-two"
    data = page_data(page.read_text(encoding="utf-8"))
    assert data["answer"] == "forty-two" and data["query"] == "how long?"
    code_steps = [n for n in data["nodes"] if n["k"] == "code"]
    assert [dict(n["x"])["code"] for n in code_steps] == ["print(len(context))",
                                                         "FINAL('forty-two')"]


def test_rlm_run_view_in_a_missing_folder_is_refused_before_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("some text")
    target = tmp_path / "no" / "run.html"
    with OpenAIServer(answering) as server:
        code = main(["run", "--context", str(doc), "-q", "q", "--model", "openai/m",
                     "--base-url", server.base_url, "--quiet", "--view", str(target)])
        requests = list(server.requests)
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"rlm: error: --view {str(target)!r}: the folder {str(target.parent)!r} does not "
        "exist; create it first or choose another path")
    assert requests == []
