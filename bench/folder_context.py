"""Folder contexts are loaded lazily: peak memory stays flat as the folder grows.

A folder of generated text files (4 MB each, one holding a needle) is given as the context;
the model's code (scripted) reads every file once, counts characters and finds the needle.
Peak resident memory is measured in a fresh process per case, for the host process and for
the REPL worker (its own getrusage, printed by the code it runs):

- lazy: `context=Path(folder)`: the worker holds the listing, each file is read on demand.
- eager (the baseline, same run): every file read into a dict first (path -> text), the dict
  given as the context, as a user would without folder support.

    python bench/folder_context.py [--sizes-mb 256,2048] [--eager-mb 256] [--keep]

Writes bench/results/folder_context.json. The eager baseline runs at the smaller size only
(at 2 GB it needs several GB of memory in the host and the worker; pass --eager-mb 2048 to
measure it on a machine that has them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILE_MB = 4
NEEDLE = "NEEDLE-93417"
READ_ALL = """\
import resource
total, hits = 0, []
for p in context:
    text = context[p]
    total += len(text)
    if NEEDLE_TEXT in text:
        hits.append(p)
    del text
worker_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(total, hits, worker_peak_kb)
""".replace("NEEDLE_TEXT", repr(NEEDLE))


def generate(folder: Path, size_mb: int) -> int:
    """`size_mb` of text files under `folder` (nested two levels); the needle in one."""
    line = "".join(chr(97 + (i * 7) % 26) for i in range(99)) + "\n"
    block = (line * (FILE_MB * 1024 * 1024 // len(line) + 1))[: FILE_MB * 1024 * 1024]
    count = max(1, size_mb // FILE_MB)
    for i in range(count):
        sub = folder / f"part{i // 64:02d}" / f"group{i // 8:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        text = block if i != count // 2 else block[:1000] + NEEDLE + block[1000 + len(NEEDLE):]
        (sub / f"file{i:05d}.txt").write_text(text)
    return count


def case(mode: str, folder: str) -> None:
    """One measured run (in its own process): prints a JSON line."""
    from rlm_toolkit import RLM, RLMConfig
    from rlm_toolkit.testing import ScriptedLLM

    started = time.perf_counter()
    if mode == "eager":
        root = Path(folder)
        context: object = {p.relative_to(root.parent).as_posix(): p.read_text()
                           for p in sorted(root.rglob("*.txt"))}
    else:
        context = Path(folder)
    script = ScriptedLLM([f"```repl\n{READ_ALL}```", "```repl\nFINAL(hits[0])\n```"])
    rlm = RLM(script, config=RLMConfig(memory_limit_mb=None, step_timeout_s=1800,
                                       max_output_chars=2_000))
    result = rlm.run(context=context, query="Which file holds the needle?")
    step = next(s for s in result.trace.spans() if s.kind == "code")
    printed = str(step.attrs.get("stdout", "")).split()  # total, [hits], worker peak (KB)
    total, worker_kb = printed[0], printed[-1]
    print(json.dumps({
        "mode": mode, "answer": result.answer, "status": result.status,
        "chars_read": int(total),
        "host_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worker_peak_mb": round(int(worker_kb) / 1024, 1),
        "seconds": round(time.perf_counter() - started, 2),
    }))


def measure(mode: str, folder: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, __file__, "--case", mode, str(folder)],
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        return {"mode": mode, "error": done.stderr.strip().splitlines()[-1:]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-mb", default="256,2048")
    parser.add_argument("--eager-mb", default="256", help="sizes for the eager baseline")
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" /
                                             "folder_context.json"))
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        case(*args.case)
        return
    sizes = [int(s) for s in args.sizes_mb.split(",")]
    eager = {int(s) for s in args.eager_mb.split(",") if s}
    rows = []
    for size in sorted(set(sizes) | eager):
        base = Path(tempfile.mkdtemp(prefix="rlm-folder-bench-"))
        try:
            files = generate(base / "corpus", size)
            on_disk = sum(p.stat().st_size for p in (base / "corpus").rglob("*.txt"))
            for mode in (["lazy"] if size in sizes else []) + (["eager"] if size in eager
                                                              else []):
                row = {"size_mb": round(on_disk / 2**20), "files": files, **measure(
                    mode, base / "corpus")}
                print(json.dumps(row))
                rows.append(row)
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"file_mb": FILE_MB, "cpus": os.cpu_count(), "rows": rows},
                              indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
