"""H-MEM benchmark: a seeded synthetic multi-session memory, scored on retrieval quality and speed.

Personas state facts across sessions over two years; some facts change (they move, change
jobs, change tastes) and some are later deleted for privacy. Filler episodes (chit-chat that
names the same people, cities and companies) grow the memory to each size. Questions:

- single-hop       "Where does Alice Moreau work?"                          gold: current fact
- paraphrase       "What does Alice Moreau do for a living?"  (evidence: "... works as a nurse")
- multi-hop        "Where does the person who works at Zentrix Labs live?"  gold: both facts
- temporal         "Where did Alice Moreau live in March 2023?"  (retrieve(as_of=...))
- knowledge-update "Where does Alice Moreau live now?"  also: does an outdated city outrank it?
- abstention       "What is Alice Moreau's blood type?"  (never said: retrieve should abstain)
- deletion         "What is Alice Moreau's phone number?" after forget(): does it come back?

Methods: a naive word-overlap baseline, H-MEM with BM25 only, and H-MEM with BM25 + WordLlama
dense vectors when the `embeddings` extra is installed. Writes JSON under bench/results/.

    .venv/bin/python bench/memory.py                       # sizes 1000,10000
    .venv/bin/python bench/memory.py --sizes 1000,10000,100000
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rlm_toolkit.memory import HierarchicalMemory
from rlm_toolkit.memory.text import words

FIRST = [
    "Alice", "Bruno", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
    "Keiko", "Liam", "Mara", "Nikos", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara", "Umar",
    "Vera", "Wade", "Xenia", "Yusuf", "Zoe", "Aron", "Bianca", "Cyril", "Dalia", "Emil", "Fiona",
    "Goran", "Hana", "Ivo", "Julia", "Kofi", "Lena", "Milo", "Nadia", "Oskar", "Petra", "Rafael",
    "Sofia", "Tomas", "Ulla", "Viktor", "Wanda", "Yara", "Zeno"
]
LAST = [
    "Moreau", "Novak", "Okafor", "Park", "Quispe", "Rossi", "Sato", "Tanaka", "Ulrich", "Vargas",
    "Weber", "Xu", "Yilmaz", "Zorn", "Abbott", "Brandt", "Castro", "Dubois", "Eriksen", "Fischer",
    "Garcia", "Horvat", "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Mendes", "Nilsen", "Ortega",
    "Petrov"
]
CITIES = [
    "Paris", "Berlin", "Lisbon", "Oslo", "Rome", "Vienna", "Prague", "Madrid", "Dublin", "Warsaw",
    "Athens", "Zurich", "Lyon", "Porto", "Krakow", "Bergen", "Seville", "Turin", "Ghent", "Tallinn",
    "Riga", "Vilnius", "Bologna", "Malmo", "Graz", "Leipzig", "Nantes", "Bilbao", "Aarhus", "Split"
]
SYL = [
    "zen", "tri", "vox", "lum", "cor", "ark", "nex", "pol", "dar", "quin", "sol", "ter", "bri",
    "mon", "vel", "kas", "rho", "tam", "fen", "gal"
]
SUFFIX = ["Labs", "Systems", "Works", "Group", "Dynamics", "Foods", "Logistics", "Media"]
JOBS = ["nurse", "teacher", "welder", "pilot", "chemist", "baker", "architect", "plumber",
        "librarian", "surveyor", "translator", "pharmacist"]
FOODS = ["sushi", "ramen", "paella", "pierogi", "falafel", "lasagna", "tacos", "curry",
         "goulash", "risotto", "dumplings", "ceviche"]
HOBBIES = ["hiking", "chess", "pottery", "climbing", "birdwatching", "sailing", "knitting",
           "archery", "gardening", "fencing"]
NOUNS = [
    "weather", "train", "budget", "meeting", "concert", "report", "garden", "laptop", "bicycle",
    "museum", "market", "holiday", "deadline", "printer", "coffee", "recipe", "podcast", "invoice",
    "ticket", "festival", "parking", "elevator", "library", "harbour", "bakery", "forecast",
    "schedule"
]
ADJ = [
    "late", "crowded", "quiet", "expensive", "broken", "great", "boring", "sunny", "noisy", "cheap",
    "useful", "strange", "delayed", "lovely"
]
DAY = 86400.0
T0 = 1_672_531_200.0  # 2023-01-01


@dataclass
class Question:
    kind: str
    text: str
    gold: list[int]  # indices into the episode list
    as_of: float | None = None
    outdated: list[int] = field(default_factory=list)  # superseded gold-like episodes
    secret: str = ""


@dataclass
class Dataset:
    episodes: list[dict[str, Any]]
    questions: list[Question]
    deleted: list[int]


def company(rng: random.Random, used: set[str]) -> str:
    while True:
        name = f"{rng.choice(SYL).capitalize()}{rng.choice(SYL)}{rng.choice(SYL)} {rng.choice(SUFFIX)}"
        if name not in used:
            used.add(name)
            return name


def generate(size: int, personas: int, seed: int) -> Dataset:
    """Episodes (persona facts first, then filler up to `size`, shuffled in time) and questions."""
    rng = random.Random(seed)
    names = [f"{f} {ln}" for f in FIRST for ln in LAST]
    rng.shuffle(names)
    names = names[:personas]
    used: set[str] = set()
    eps: list[dict[str, Any]] = []
    qs: list[Question] = []
    deleted: list[int] = []

    def add(text: str, t: float, session: str) -> int:
        eps.append({"text": text, "timestamp": t, "session_id": session})
        return len(eps) - 1

    for p, name in enumerate(names):
        t = T0 + rng.uniform(0, 60) * DAY
        s = f"p{p}"
        cities = rng.sample(CITIES, 3)
        city_eps = [add(f"{name} lives in {cities[0]}", t, s + "-1")]
        city_times = [t]
        employers = [company(rng, used)]
        emp_eps = [add(f"{name} works at {employers[0]}", t + DAY, s + "-1")]
        job_ep = add(f"{name} works as a {rng.choice(JOBS)}", t + 2 * DAY, s + "-1")
        foods = rng.sample(FOODS, 2)
        food_eps = [add(f"{name}'s favourite food is {foods[0]}", t + 3 * DAY, s + "-2")]
        hobby_eps = [add(f"{name} likes {h}", t + rng.uniform(4, 200) * DAY, s + "-2")
                     for h in rng.sample(HOBBIES, 2)]
        phone = f"555-{rng.randrange(1000, 9999)}"
        phone_ep = add(f"{name}'s phone number is {phone}", t + 5 * DAY, s + "-2")
        moves = rng.choice([0, 1, 1, 2])
        for m in range(moves):
            tm = t + (150 + 200 * m + rng.uniform(0, 80)) * DAY
            city_eps.append(add(f"{name} moved to {cities[m + 1]}", tm, f"{s}-m{m}"))
            city_times.append(tm)
        if rng.random() < 0.4:
            employers.append(company(rng, used))
            emp_eps.append(add(f"{name} works at {employers[1]}", t + 300 * DAY, s + "-3"))
        if rng.random() < 0.4:
            food_eps.append(add(f"{name}'s favourite food is {foods[1]}", t + 320 * DAY, s + "-3"))
        # questions
        qs.append(Question("single-hop", f"Where does {name} work?", [emp_eps[-1]],
                           outdated=emp_eps[:-1]))
        qs.append(Question("single-hop", f"What is {name}'s favourite food?", [food_eps[-1]],
                           outdated=food_eps[:-1]))
        qs.append(Question("multi-hop", f"In which city does the person who works at "
                           f"{employers[-1]} live?", [emp_eps[-1], city_eps[-1]]))
        qs.append(Question("knowledge-update", f"Where does {name} live now?", [city_eps[-1]],
                           outdated=city_eps[:-1]))
        if moves:
            i = rng.randrange(len(city_times) - 1)
            when = (city_times[i] + city_times[i + 1]) / 2
            month = time.strftime("%B %Y", time.gmtime(when))
            qs.append(Question("temporal", f"Where did {name} live in {month}?", [city_eps[i]],
                               as_of=when))
        # paraphrase: no content word in common with the evidence but the name
        qs.append(Question("paraphrase", f"What does {name} do for a living?", [job_ep]))
        qs.append(Question("paraphrase", f"How does {name} enjoy spending free time?",
                           hobby_eps))
        qs.append(Question("abstention", f"What is {name}'s blood type?", []))
        if p % 3 == 0:
            deleted.append(phone_ep)
            qs.append(Question("deletion", f"What is {name}'s phone number?", [], secret=phone))
    templates = [
        "{n} mentioned that the {a} was {b} on {d}",
        "The {a} in {c} was {b} this week",
        "{n} asked about the {a} and the {a2}",
        "Someone from {co} called about the {a}",
        "{n} said the {a} near {c} is {b}",
        "Remember to check the {a} before the {a2} on {d}",
    ]
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    companies = sorted(used)
    i = 0
    while len(eps) < size:
        text = rng.choice(templates).format(
            n=rng.choice(names), a=rng.choice(NOUNS), a2=rng.choice(NOUNS), b=rng.choice(ADJ),
            d=rng.choice(days), c=rng.choice(CITIES), co=rng.choice(companies),
        ) + f" (note {i})"
        add(text, T0 + rng.uniform(0, 730) * DAY, f"f{i % 500}")
        i += 1
    return Dataset(eps, qs, deleted)


class WordOverlap:
    """The naive baseline: rank by the number of shared lower-cased words."""

    def __init__(self) -> None:
        self.docs: list[tuple[int, set[str], str]] = []
        self.gone: set[int] = set()

    def add(self, idx: int, text: str) -> None:
        self.docs.append((idx, set(words(text)), text))

    def forget(self, idx: int) -> None:
        self.gone.add(idx)

    def retrieve(self, q: Question, k: int) -> list[tuple[int, str]]:
        qw = set(words(q.text))
        scored = [(len(qw & w), -pos, i, t)
                  for pos, (i, w, t) in enumerate(self.docs) if i not in self.gone]
        scored = [s for s in scored if s[0] > 0]
        scored.sort(reverse=True)  # ties: the earlier added first
        return [(i, t) for _, _, i, t in scored[:k]]


@dataclass
class Scores:
    recall: list[float] = field(default_factory=list)
    rr: list[float] = field(default_factory=list)
    outdated_first: list[float] = field(default_factory=list)
    abstained: list[float] = field(default_factory=list)
    false_abstain: list[float] = field(default_factory=list)
    leaked: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)


def score(
    ds: Dataset, retrieve: Callable[[Question, int], list[tuple[int, str]]],
    abstain: Callable[[Question], bool], k: int,
) -> dict[str, Any]:
    by_kind: dict[str, Scores] = {}
    lat: list[float] = []
    for q in ds.questions:
        s = by_kind.setdefault(q.kind, Scores())
        start = time.perf_counter()
        got = retrieve(q, k)
        lat.append((time.perf_counter() - start) * 1000)
        ranked = [i for i, _ in got]
        if q.kind == "abstention":
            s.abstained.append(float(abstain(q)))
            continue
        if q.kind == "deletion":
            s.leaked.append(float(any(q.secret in t for _, t in got)))
            continue
        gold = set(q.gold)
        s.recall.append(len(gold & set(ranked)) / len(gold))
        first = next((r for r, i in enumerate(ranked, 1) if i in gold), None)
        s.rr.append(1 / first if first else 0.0)
        s.false_abstain.append(float(abstain(q)))
        if q.outdated:
            cur = min((r for r, i in enumerate(ranked) if i in gold), default=None)
            old = min((r for r, i in enumerate(ranked) if i in q.outdated), default=None)
            s.outdated_first.append(float(old is not None and (cur is None or old < cur)))
    out: dict[str, Any] = {}
    for kind, s in by_kind.items():
        row: dict[str, Any] = {"n": max(len(s.recall), len(s.abstained), len(s.leaked))}
        if s.recall:
            row[f"recall@{k}"] = round(statistics.fmean(s.recall), 4)
            row["mrr"] = round(statistics.fmean(s.rr), 4)
            row["false_abstain"] = round(statistics.fmean(s.false_abstain), 4)
        if s.outdated_first:
            row["outdated_outranks_current"] = round(statistics.fmean(s.outdated_first), 4)
        if s.abstained:
            row["abstained"] = round(statistics.fmean(s.abstained), 4)
        if s.leaked:
            row["deleted_came_back"] = round(statistics.fmean(s.leaked), 4)
        out[kind] = row
    answerable = [r for kind, r in out.items() if f"recall@{k}" in r]
    out["all"] = {
        f"recall@{k}": round(statistics.fmean(r[f"recall@{k}"] for r in answerable), 4),
        "mrr": round(statistics.fmean(r["mrr"] for r in answerable), 4),
        "false_abstain": round(statistics.fmean(r["false_abstain"] for r in answerable), 4),
        "retrieve_ms_p50": round(statistics.median(lat), 3),
        "retrieve_ms_p95": round(sorted(lat)[int(0.95 * (len(lat) - 1))], 3),
    }
    return out


def run_hmem(ds: Dataset, embedder: str | None, k: int, min_match: float, workdir: Path,
             single_adds: int) -> dict[str, Any]:
    path = workdir / f"hmem-{embedder or 'bm25'}-{len(ds.episodes)}.db"
    end = T0 + 800 * DAY
    mem = HierarchicalMemory(path=path, embedder=embedder, clock=lambda: end)
    order = sorted(range(len(ds.episodes)), key=lambda i: ds.episodes[i]["timestamp"])
    ids: dict[int, int] = {}
    # The bulk in batches of 1000, then the last `single_adds` one call at a time (each its own
    # durable transaction), timed at the full size.
    split = len(order) - single_adds
    rest, single = order[:split], order[split:]
    start = time.perf_counter()
    for j in range(0, len(rest), 1000):
        chunk = rest[j : j + 1000]
        got = mem.add_episodes([ds.episodes[i] for i in chunk])
        ids.update(zip(chunk, got, strict=True))
    batch_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in single:
        ids[i] = mem.add_episode(ds.episodes[i]["text"], timestamp=ds.episodes[i]["timestamp"],
                                 session_id=ds.episodes[i]["session_id"])
    add_one_ms = (time.perf_counter() - start) * 1000 / max(1, len(single))
    start = time.perf_counter()
    report = mem.consolidate()
    consolidate_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in ds.deleted:
        mem.forget(ids[i])
    forget_ms = (time.perf_counter() - start) * 1000 / max(1, len(ds.deleted))
    back = {v: kk for kk, v in ids.items()}

    def retrieve(q: Question, kk: int) -> list[tuple[int, str]]:
        res = mem.retrieve(q.text, k=kk, as_of=q.as_of,
                           include_summaries=q.kind == "deletion")
        return [(back.get(h.id, -h.id), h.text) for h in res]

    def abstain(q: Question) -> bool:
        return len(mem.retrieve(q.text, k=k, as_of=q.as_of, min_match=min_match)) == 0

    quality = score(ds, retrieve, abstain, k)
    stats = mem.stats()
    mem.close()
    size_mb = sum(p.stat().st_size for p in workdir.glob(path.name + "*")) / 1e6
    return {
        "quality": quality,
        "add_one_ms": round(add_one_ms, 3),
        "add_batch_per_episode_ms": round(batch_s * 1000 / len(rest), 4) if rest else None,
        "consolidate_s": round(consolidate_s, 3),
        "forget_ms": round(forget_ms, 2),
        "nodes": stats,
        "traces_created": report.created,
        "db_mb": round(size_mb, 2),
    }


def run_baseline(ds: Dataset, k: int) -> dict[str, Any]:
    base = WordOverlap()
    start = time.perf_counter()
    for i in sorted(range(len(ds.episodes)), key=lambda i: ds.episodes[i]["timestamp"]):
        base.add(i, ds.episodes[i]["text"])  # in time order, as a live memory receives them
    add_ms = (time.perf_counter() - start) * 1000 / len(ds.episodes)
    for i in ds.deleted:
        base.forget(i)

    def abstain(q: Question) -> bool:  # abstain when under half the query's words match
        got = base.retrieve(q, 1)
        return not got or len(set(words(q.text)) & set(words(got[0][1]))) < len(set(words(q.text))) / 2

    return {"quality": score(ds, base.retrieve, abstain, k), "add_one_ms": round(add_ms, 4)}


def table(results: dict[str, Any], k: int) -> str:
    kinds = ["single-hop", "multi-hop", "temporal", "knowledge-update", "paraphrase"]
    head = (f"{'size':>7} {'method':<17} {'R@'+str(k):>6} {'MRR':>6} "
            + " ".join(f"{x[:12]:>12}" for x in kinds)
            + f" {'outdated>cur':>12} {'abstain':>8} {'false-abst':>10} {'del.back':>8}"
            f" {'add ms':>7} {'ret p50':>8}")
    lines = [head, "-" * len(head)]
    for size, methods in results.items():
        for name, r in methods.items():
            q = r["quality"]
            upd = q.get("knowledge-update", {}).get("outdated_outranks_current", 0)
            lines.append(
                f"{size:>7} {name:<17} {q['all'][f'recall@{k}']:>6.3f} {q['all']['mrr']:>6.3f} "
                + " ".join(f"{q.get(x, {}).get(f'recall@{k}', 0):>12.3f}" for x in kinds)
                + f" {upd:>12.3f} {q['abstention']['abstained']:>8.3f}"
                f" {q['all']['false_abstain']:>10.3f}"
                f" {q.get('deletion', {}).get('deleted_came_back', 0):>8.3f}"
                f" {r['add_one_ms']:>7.3f} {q['all']['retrieve_ms_p50']:>8.2f}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000", help="episode counts, comma-separated")
    ap.add_argument("--personas", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--min-match", type=float, default=0.75, help="abstention threshold")
    ap.add_argument("--single-adds", type=int, default=1000,
                    help="episodes added one call at a time (timed); the rest in batches")
    ap.add_argument("--no-dense", action="store_true", help="skip BM25+dense even if installed")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "memory.json"))
    args = ap.parse_args(argv)
    methods: list[tuple[str, str | None]] = [("hmem-bm25", None)]
    dense_note = ""
    if not args.no_dense:
        try:
            import wordllama  # noqa: F401

            methods.append(("hmem-bm25+dense", "wordllama"))
        except ImportError:
            dense_note = "wordllama not installed (pip install 'rlm-toolkit[embeddings]')"
            print(f"skipping hmem-bm25+dense: {dense_note}")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            ds = generate(size, args.personas, args.seed)
            print(f"size {size}: {len(ds.episodes)} episodes, {len(ds.questions)} questions",
                  flush=True)
            results[str(size)] = {"word-overlap": run_baseline(ds, args.k)}
            for name, emb in methods:
                t = time.perf_counter()
                results[str(size)][name] = run_hmem(ds, emb, args.k, args.min_match, Path(tmp),
                                                    min(args.single_adds, size))
                print(f"  {name}: {time.perf_counter() - t:.1f}s", flush=True)
    out = {
        "bench": "memory", "seed": args.seed, "personas": args.personas, "k": args.k,
        "min_match": args.min_match, "python": platform.python_version(),
        "machine": platform.machine(), "dense_note": dense_note, "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(table(results, args.k))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
