"""Trace viewer cost: writing and opening the HTML page of a 2,000-sub-call run, as ratios.

Two real runs (scripted models, the jailed REPL): one code step sends N prompts through
`llm_batch`, then the answer comes from code. The small run (20 sub-calls) is the baseline
measured in the same process; the large run has 2,000. For each it measures

1. write: `rlm trace view`'s work (read the JSONL, build the page, write it), median of reps;
2. open: headless Chromium loading the page from disk: first contentful paint and the moment
   the viewer's script has drawn the page, both from the navigation's start, median of reps;
3. interact: in the large page, scrolling the timeline to its end and opening the code step
   that holds the 2,000 sub-calls (one frame each, the lazily drawn rows).

    python bench/trace_viewer.py [--small 20] [--large 2000] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.browser import Browser, find_chromium
from rlm_toolkit.trace.viewer import from_jsonl, write_html


def run_trace(subcalls: int, path: Path) -> int:
    """Run a batch of `subcalls` prompts and save the trace; the number of spans."""
    root = ScriptedLLM([
        "```repl\nparts = llm_batch(['chunk %d: count the errors' % i for i in range("
        f"{subcalls})])\nprint(len(parts))\n```",
        "```repl\nFINAL(str(sum(len(p) for p in parts)))\n```",
    ])
    sub = ScriptedLLM(lambda m: f"{len(str(m[-1]['content'])) % 7} errors in this part")
    config = RLMConfig(step_timeout_s=300, max_subcalls=subcalls + 10, concurrency=64,
                       max_calls_per_step=max(1_000, subcalls))
    result = RLM(root, sub, config).run(context="x\n" * 1000, query="how many errors?")
    result.trace.save(path)
    return len(result.trace.spans())


def time_write(jsonl: Path, html: Path, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        write_html(from_jsonl(jsonl), html)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


FRAME = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def time_open(browser: Browser, html: Path, reps: int) -> dict[str, float]:
    paint, ready = [], []
    for _ in range(reps):
        page = browser.open(html.as_uri())
        paint.append(page.wait_lifecycle("firstContentfulPaint"))
        # the script's own clock: milliseconds from navigation start to the page drawn
        ready.append(float(page.evaluate("window.__rlmViewerReadyMs")) / 1000)
        page.send("Page.close")
    return {"first_paint_s": statistics.median(paint), "drawn_s": statistics.median(ready)}


def time_interact(browser: Browser, html: Path) -> dict[str, float]:
    page = browser.open(html.as_uri())
    t = time.perf_counter()
    page.evaluate("(() => { const w = document.getElementById('waterfall'); "
                  "w.scrollTop = w.scrollHeight; w.dispatchEvent(new Event('scroll')); })()")
    page.evaluate(FRAME)
    scroll = time.perf_counter() - t
    t = time.perf_counter()
    page.evaluate("document.querySelector('.node[data-kind=\"code\"] > .head').click()")
    page.evaluate(FRAME)
    expand = time.perf_counter() - t
    rows = page.evaluate("document.querySelectorAll('#waterfall .wf-row').length")
    nodes = page.evaluate("document.querySelectorAll('#tree .node').length")
    return {"scroll_to_end_s": scroll, "open_code_step_s": expand,
            "timeline_rows_in_dom": rows, "tree_nodes_in_dom": nodes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", type=int, default=20)
    ap.add_argument("--large", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", default="bench/results/trace_viewer.json")
    args = ap.parse_args()
    report: dict[str, Any] = {"small_subcalls": args.small, "large_subcalls": args.large,
                              "reps": args.reps}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = {}
        for name, n in (("small", args.small), ("large", args.large)):
            jsonl, html = folder / f"{name}.jsonl", folder / f"{name}.html"
            spans = run_trace(n, jsonl)
            write = time_write(jsonl, html, args.reps)
            runs[name] = {"spans": spans, "jsonl_bytes": jsonl.stat().st_size,
                          "html_bytes": html.stat().st_size, "write_s": write}
        if find_chromium() is None:
            report["browser"] = "skipped: chromium is not installed"
        else:
            with Browser() as browser:
                time_open(browser, folder / "small.html", 2)  # warm-up: a cold browser is slow
                for name in ("small", "large"):
                    runs[name].update(time_open(browser, folder / f"{name}.html", args.reps))
                report["large_interact"] = time_interact(browser, folder / "large.html")
        report.update(runs)
    small, large = report["small"], report["large"]
    ratios = {k: large[k] / small[k] for k in ("write_s", "first_paint_s", "drawn_s",
                                                "html_bytes", "spans") if k in large}
    report["ratio_large_to_small"] = ratios
    for name in ("small", "large"):
        r = report[name]
        print(f"{name:>5}: {r['spans']:,} spans · JSONL {r['jsonl_bytes']:,} B · HTML "
              f"{r['html_bytes']:,} B · write {r['write_s'] * 1000:.1f} ms"
              + (f" · first paint {r['first_paint_s'] * 1000:.0f} ms · drawn "
                 f"{r['drawn_s'] * 1000:.0f} ms" if "drawn_s" in r else ""))
    print("large / small: " + " · ".join(f"{k} x{v:.2f}" for k, v in ratios.items()))
    if "large_interact" in report:
        i = report["large_interact"]
        print(f"large page: scroll timeline to end {i['scroll_to_end_s'] * 1000:.0f} ms, open "
              f"the 2,000-call step {i['open_code_step_s'] * 1000:.0f} ms; "
              f"{i['timeline_rows_in_dom']} timeline rows and {i['tree_nodes_in_dom']} tree "
              "nodes in the DOM")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
