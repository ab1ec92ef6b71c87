"""Redaction speed: 10 MB of text scanned by the six built-in detectors and redacted, against
a plain `re` scan for one e-mail pattern over the same text in the same run (the baseline), and
the local-only check (the verbatim index) on a 100 KB prompt.

    python bench/redaction.py [--mb 10] [--repeat 3] [--out bench/results/redaction.json]

The text is synthetic log and CRM lines with about 1 line in 50 carrying planted PII (e-mails,
phones, cards, IBANs, IPs, keys). The target is under a second for 10 MB; it is reported here,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import statistics
import time
from pathlib import Path

from rlm_toolkit.privacy import DEFAULT, Redactor, build
from rlm_toolkit.privacy.verbatim import ContextIndex

WORDS = (
    "the", "order", "was", "shipped", "to", "customer", "on", "time", "with", "tracking",
    "status", "delivered", "invoice", "paid", "refund", "requested", "support", "ticket",
    "opened", "closed", "priority", "normal", "high", "region", "north", "south", "east",
    "west", "total", "amount", "EUR", "USD", "note:", "item", "sku",
)
PII = (
    "contact {n}.doe@example.com or +44 20 7946 {p:04d}",
    "card 4111 1111 1111 1111 exp 12/29",
    "iban GB82 WEST 1234 5698 7654 32",
    "from host 10.{a}.{b}.7 at 12:30:45",
    "api_key = sk-proj-{n:08d}abcdefghijklmnopqrstuv",
)


def corpus(megabytes: float, seed: int = 1) -> tuple[str, int]:
    """About `megabytes` MB of lines; also how many values were planted."""
    rng = random.Random(seed)
    lines: list[str] = []
    size, planted, target = 0, 0, int(megabytes * 1_000_000)
    n = 0
    while size < target:
        n += 1
        line = f"{n:07d} 2026-{1 + n % 12:02d}-{1 + n % 28:02d} " + " ".join(
            rng.choice(WORDS) for _ in range(10)) + f" {rng.randint(1, 9999)}.{n % 100:02d}"
        if n % 50 == 0:
            line += " " + rng.choice(PII).format(n=n, p=n % 10_000, a=n % 250, b=n % 200)
            planted += 1
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines), planted


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="bench/results/redaction.json")
    args = ap.parse_args()

    text, planted = corpus(args.mb)
    email = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
    baseline_s, hits = timed(lambda: sum(1 for _ in email.finditer(text)), args.repeat)

    per_detector = {}
    for detector in build(list(DEFAULT)):
        seconds, count = timed(lambda d=detector: sum(1 for _ in d.find(text)), args.repeat)
        per_detector[detector.kind] = {"seconds": round(seconds, 4), "found": count}

    def redact() -> dict[str, int]:
        return dict(Redactor(build(list(DEFAULT))).redact(text)[1])

    redact_s, counts = timed(redact, args.repeat)

    context = text[:2_000_000]
    index = ContextIndex(context)
    build_s, _ = timed(lambda: ContextIndex(context).pieces("x" * 64), 1)
    prompt = "Summarise:\n" + context[500_000:600_000]
    scan_s, pieces = timed(lambda: index.pieces(prompt), args.repeat)

    mb = len(text.encode()) / 1e6
    result = {
        "bench": "redaction",
        "machine": f"{platform.machine()} {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "megabytes": round(mb, 2),
        "planted_lines": planted,
        "redact_all_six_s": round(redact_s, 4),
        "redact_mb_per_s": round(mb / redact_s, 2),
        "target_under_1s_for_10mb": redact_s * 10 / mb < 1.0,
        "found_by_kind": counts,
        "per_detector": per_detector,
        "baseline_one_email_regex_s": round(baseline_s, 4),
        "baseline_hits": hits,
        "ratio_to_baseline": round(redact_s / baseline_s, 2),
        "verbatim_index_build_2mb_s": round(build_s, 4),
        "verbatim_scan_100kb_prompt_s": round(scan_s, 4),
        "verbatim_pieces_found": [[p.ctx_range[0], p.ctx_range[1]] for p in pieces],  # type: ignore[attr-defined]
        "repeat": args.repeat,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
