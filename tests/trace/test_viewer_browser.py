"""The trace page in a real browser: headless Chromium loads it from a file and we read the DOM."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlm_toolkit.testing.browser import Browser, Page, find_chromium
from rlm_toolkit.trace.viewer import from_jsonl, from_trace, write_html
from tests.trace.runs import (
    ANSWER,
    BATCH,
    HOSTILE,
    HOSTILE_SHOWN,
    QUERY,
    SURROGATE,
    add_credit_line,
    credit_for,
    credit_line,
    scripted_run,
    synthetic_trace,
)

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed (Debian "
                       "package `chromium`; scripts/setup.sh installs it)"),
    pytest.mark.timeout(300),
]

SCREENSHOT = Path("/tmp/team/viewer.png")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def run_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page of a real scripted run, with credit on the line of the answering sub-call."""
    folder = tmp_path_factory.mktemp("run")
    jsonl = folder / "run.jsonl"
    scripted_run(jsonl)
    if not credit_line(jsonl):  # a trace saved without credit gets it in the documented form
        add_credit_line(jsonl, credit_for(jsonl, ANSWER))
    page = folder / "run.html"
    write_html(from_jsonl(jsonl), page)
    return page


@pytest.fixture(scope="module")
def loaded(browser: Browser, run_page: Path) -> Page:
    return browser.open(run_page.as_uri())


def texts(page: Page, selector: str) -> list[str]:
    return page.evaluate(
        f"Array.from(document.querySelectorAll({json.dumps(selector)})).map(e => e.textContent)")


def test_the_page_shows_answer_status_every_iteration_and_a_subcalls_prompt(loaded: Page) -> None:
    assert loaded.evaluate("document.body.dataset.ready") == "1"
    assert loaded.errors() == []
    assert loaded.evaluate("document.getElementById('answer').textContent") == ANSWER
    assert loaded.evaluate("document.getElementById('status').textContent") == "success"
    assert QUERY in loaded.evaluate("document.getElementById('query').textContent")
    top = texts(loaded, '#tree > .node > .kids > .node[data-kind="iteration"] > .head .name')
    assert top == ["1", "2", "3"]
    every = texts(loaded, '.node[data-kind="iteration"] > .head .name')
    assert every == ["1", "2", "1", "3"]  # the child run's iteration 1 sits inside 2
    prompts = texts(loaded, '.node[data-kind="llm"] .sec.prompt pre')
    assert "Which code is in: L101: The vault code is 4417." in prompts
    assert [f"part {i} of the file" for i in range(BATCH)] == sorted(
        p for p in prompts if p.startswith("part"))
    replies = texts(loaded, '.node[data-kind="llm"] .sec.reply pre')
    assert ANSWER in replies
    code = texts(loaded, '.node[data-kind="code"] .sec.code pre')
    assert "FINAL(code)" in code and any("llm_batch" in c for c in code)
    outputs = texts(loaded, '.node[data-kind="code"] .sec.output pre')
    assert "4417 child says the child's reply lone \ufffd surrogate\n" in outputs
    child = texts(loaded, '.node[data-kind="child_run"] > .head .name')
    assert child == ["summarise the notes"]


def test_a_small_trace_opens_fully_expanded(loaded: Page) -> None:
    total = loaded.evaluate("JSON.parse(document.getElementById('trace-data').textContent)"
                            ".nodes.length")
    assert 15 < total < 200
    assert loaded.evaluate("document.querySelectorAll('#tree .node').length") == total
    assert loaded.evaluate("document.querySelectorAll('#tree button.more').length") == 0


def test_credit_badges_and_the_wasted_total(loaded: Page, run_page: Path) -> None:
    badges = loaded.evaluate("""Array.from(document.querySelectorAll('#tree .node')).map(n =>
        [n.dataset.kind, n.querySelector('.sec.reply pre')?.textContent ?? null,
         n.querySelector(':scope > .head .badge')?.textContent ?? null])""")
    calls = {reply: badge for kind, reply, badge in badges if kind == "llm"}
    assert calls[ANSWER] is not None and calls[ANSWER].startswith("\u2713 fed answer")
    batch = [b for r, b in calls.items() if r.startswith("nothing in")]
    assert batch == ["\u2717 wasted"] * BATCH
    line = credit_line(run_page.with_suffix(".jsonl"))
    expect = line.get("wasted_tokens", sum(r["tokens"] for r in line["records"]
                                           if not r["contributed"]))
    assert expect > 0
    shown = loaded.evaluate("document.getElementById('wasted').textContent")
    assert f"{expect:,} tokens" in shown and "did not feed the answer" in shown


def test_parallel_batch_calls_overlap_on_the_timeline(loaded: Page) -> None:
    spans = loaded.evaluate("""Array.from(document.querySelectorAll(
        '#waterfall .wf-row[data-kind="llm"] .wf-bar')).map(b => {
          const r = b.getBoundingClientRect(); return [r.left, r.right]; })""")
    batch = spans[:BATCH]
    assert len(batch) == BATCH and all(right - left > 2 for left, right in batch)
    # every bar of the batch overlaps every other one: they ran at the same time
    assert max(left for left, _ in batch) < min(right for _, right in batch)
    later = spans[BATCH]  # the sub-call of the next iteration starts after the batch ended
    assert later[0] >= max(right for _, right in batch) - 1


def test_the_page_makes_no_network_request(loaded: Page, run_page: Path) -> None:
    assert loaded.requests() == [run_page.as_uri()]


def test_the_network_check_sees_a_page_that_fetches(browser: Browser, tmp_path: Path) -> None:
    """The check above can fail: a page with one image on a loopback server is caught."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/pixel.png"
        page_file = tmp_path / "fetching.html"
        page_file.write_text(f'<!DOCTYPE html><img src="{url}">')
        page = browser.open(page_file.as_uri())
        assert url in page.requests()
        assert hits == ["/pixel.png"]
    finally:
        server.shutdown()
        server.server_close()


def test_hostile_text_stays_text(browser: Browser, loaded: Page, tmp_path: Path) -> None:
    """</script>, tags, comments, line separators and lone surrogates are shown, never run."""
    assert loaded.evaluate("window.__pwned === undefined")
    assert loaded.evaluate("document.title") == "RLM trace"
    assert loaded.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert loaded.evaluate("document.scripts.length") == 2  # the data and the viewer
    replies = texts(loaded, '.node[data-kind="llm"] .sec.reply pre')
    assert f"nothing in 0 {HOSTILE_SHOWN}" in replies  # shown as text, controls escaped
    # a lone surrogate reaches the page (as U+FFFD or itself, the browser's choice), in place
    assert [r for r in replies if r.startswith("the child's reply lone ")] in (
        [f"the child's reply {SURROGATE}"], [f"the child's reply {SURROGATE}".replace(
            "\ud800", "\ufffd")])
    # the same text as the answer and as the run's error
    trace = synthetic_trace(3, answer=HOSTILE + SURROGATE)
    root = trace.spans("run")[0]
    root.error = HOSTILE
    out = tmp_path / "hostile.html"
    write_html(from_trace(trace), out)
    raw = out.read_text(encoding="utf-8")
    assert raw.count("</script>") == 2 and "<img" not in raw and "<!-- " not in raw
    page = browser.open(out.as_uri())
    assert page.errors() == []
    assert page.evaluate("window.__pwned === undefined")
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    shown = page.evaluate("document.getElementById('answer').textContent")
    assert shown.startswith(HOSTILE_SHOWN) and shown.endswith("surrogate")
    assert page.evaluate("document.getElementById('run-error').textContent") == HOSTILE_SHOWN


def test_search_filters_the_tree_and_the_timeline(loaded: Page) -> None:
    loaded.evaluate("""new Promise(done => { const s = document.getElementById('search');
        s.value = 'PART 3 OF THE FILE'; s.dispatchEvent(new Event('input'));
        setTimeout(done, 400); })""")
    try:
        hits = loaded.evaluate("""Array.from(document.querySelectorAll('#tree .node.hit'))
            .map(n => n.dataset.kind)""")
        assert hits == ["llm"]
        shown = loaded.evaluate("""Array.from(document.querySelectorAll('#tree .node'))
            .map(n => n.dataset.kind)""")
        assert shown == ["run", "iteration", "code", "llm"]  # the hit and its ancestors
        rows = loaded.evaluate("document.querySelectorAll('#waterfall .wf-row').length")
        assert rows == 4
        assert loaded.evaluate("document.getElementById('matches').textContent").startswith(
            "1 of ")
    finally:
        loaded.evaluate("""new Promise(done => { const s = document.getElementById('search');
            s.value = ''; s.dispatchEvent(new Event('input')); setTimeout(done, 400); })""")
    total = loaded.evaluate("JSON.parse(document.getElementById('trace-data').textContent)"
                            ".nodes.length")
    assert loaded.evaluate("document.querySelectorAll('#tree .node').length") == total


def test_a_2000_subcall_trace_opens_lazily(browser: Browser, tmp_path: Path) -> None:
    out = tmp_path / "big.html"
    write_html(from_trace(synthetic_trace(2_000)), out)
    page = browser.open(out.as_uri())
    assert page.errors() == []
    assert page.evaluate("document.body.dataset.ready") == "1"
    # the run, the iteration, its root call and code step are drawn; the 2,000 sub-calls wait
    drawn = page.evaluate("document.querySelectorAll('#tree .node').length")
    assert drawn == 4
    rows = page.evaluate("document.querySelectorAll('#waterfall .wf-row').length")
    assert 0 < rows < 80  # only the rows in view exist
    # the last sub-call's row appears once the timeline is scrolled to the bottom
    page.evaluate("""new Promise(done => { const w = document.getElementById('waterfall');
        w.scrollTop = w.scrollHeight; w.dispatchEvent(new Event('scroll'));
        requestAnimationFrame(() => requestAnimationFrame(done)); })""")
    last = page.evaluate("""Array.from(document.querySelectorAll('#waterfall .wf-row'))
        .map(r => Number(r.dataset.i)).reduce((a, b) => Math.max(a, b), 0)""")
    assert last == 2_003  # run, iteration, root call, code step, then sub-calls 0..1999
    # opening the code step draws its first 100 sub-calls and a "show more" button
    page.evaluate("document.querySelector('.node[data-kind=\"code\"] > .head').click()")
    assert page.evaluate("document.querySelectorAll('#tree .node[data-kind=\"llm\"]').length") \
        == 100
    more = page.evaluate("document.querySelector('#tree button.more').textContent")
    assert more == "show 100 more of 1,900 remaining"
    # clicking the last row of the timeline reveals that sub-call in the tree
    page.evaluate(f"document.querySelector('#waterfall .wf-row[data-i=\"{last}\"]').click()")
    assert page.evaluate(f"!!document.querySelector('#tree .node[data-i=\"{last}\"]')")
    assert page.evaluate("document.querySelectorAll('#tree .node[data-kind=\"llm\"]').length") \
        == 2_000


def test_screenshot_of_the_run(loaded: Page, tmp_path: Path) -> None:
    shot = tmp_path / "viewer.png"
    loaded.evaluate("window.scrollTo(0, 0)")
    loaded.screenshot(shot)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    if SCREENSHOT.parent.is_dir():
        shutil.copyfile(shot, SCREENSHOT)


def test_errors_show_on_their_node_and_a_stopped_run_says_why(browser: Browser,
                                                              tmp_path: Path) -> None:
    trace = synthetic_trace(3, answer="partial: 2 errors so far")
    assert trace.root is not None, "synthetic_trace builds a run span"  # narrows the type
    failed = trace.spans("llm")[1]
    failed.error = "ProviderUnreachable: connection refused by 127.0.0.1:9"
    trace.root.attrs["status"] = "max_iterations"
    trace.root.error = "the run used all 1 iterations"
    out = tmp_path / "stopped.html"
    write_html(from_trace(trace), out)
    page = browser.open(out.as_uri())
    assert page.evaluate("document.getElementById('status').textContent") == "max_iterations"
    assert page.evaluate("document.getElementById('answer').textContent") == \
        "partial: 2 errors so far"
    assert page.evaluate("document.getElementById('run-error').hidden") is False
    assert page.evaluate("document.getElementById('run-error').textContent") == \
        "the run used all 1 iterations"
    tags = page.evaluate("""Array.from(document.querySelectorAll('#tree .node')).map(n =>
        [n.dataset.kind, n.querySelector(':scope > .head .err-tag')?.textContent ?? null])""")
    assert [t for t in tags if t[1]] == [
        ["run", "\u26a0 the run used all 1 iterations"],
        ["llm", "\u26a0 ProviderUnreachable: connection refused by 127.0.0.1:9"]]
    bars = page.evaluate("""Array.from(document.querySelectorAll('#waterfall .wf-row'))
        .filter(r => r.querySelector('.wf-bar.err')).map(r => r.dataset.kind)""")
    assert bars == ["run", "llm"]
