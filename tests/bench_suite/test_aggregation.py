"""The `aggregation` kind: count the reviews of one sentiment spread through filler prose.

The gold is re-derived here from the context text (parsed by a regex written for the test)
and the verification labels; each label is checked against the review's own wording.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_toolkit.bench import generate, run_bench
from rlm_toolkit.bench.aggregation import (
    DAMNING_VERDICTS,
    LABELS,
    PRAISING_VERDICTS,
    item_count,
)
from rlm_toolkit.bench.generate import GENERATORS
from rlm_toolkit.bench.methods import RLMMethod
from rlm_toolkit.bench.scoring import score_answer
from rlm_toolkit.bench.task import Task
from rlm_toolkit.cli.bench import TASK_KINDS
from rlm_toolkit.providers.base import Message
from rlm_toolkit.sandbox.worker.helpers import find_items, item_patterns
from rlm_toolkit.testing import ScriptedLLM

REVIEW = re.compile(r"^Review (\d+): (.+)$", re.MULTILINE)
QUESTION = re.compile(r"How many of the (\d+) reviews of (.+) spread through this text are "
                      r"(positive|negative)\? Answer with a whole number only\.")


def dump(task: Task) -> bytes:
    return json.dumps(task.to_dict(), sort_keys=True).encode()


def test_the_kind_is_registered_everywhere_kinds_are_listed() -> None:
    assert "aggregation" in GENERATORS and "aggregation" in TASK_KINDS
    quality = (Path(__file__).parents[2] / "bench" / "quality.py").read_text()
    assert re.search(r"KINDS = \(.*\"aggregation\"", quality)


def test_same_seed_same_bytes_other_seed_other_task() -> None:
    a, b, c = (generate("aggregation", 4096, s) for s in (7, 7, 8))
    assert dump(a) == dump(b)
    assert a.context != c.context
    assert generate("aggregation", 8192, 7).context != a.context  # the size is in the seed


@pytest.mark.parametrize("tokens", [512, 2048, 8192, 2**15])
def test_context_is_the_requested_size(tokens: int) -> None:
    task = generate("aggregation", tokens, 0)
    assert tokens <= len(task.context) / 4 <= tokens * 1.02 + 100


def test_items_scale_modestly_with_size() -> None:
    assert item_count(8192) == 20 and item_count(32768) == 40
    assert item_count(512) >= 5 and item_count(2**20) <= 200
    sizes = [2**k for k in range(9, 21)]
    counts = [item_count(n) for n in sizes]
    assert counts == sorted(counts)
    for tokens in (2048, 8192, 32768):
        assert len(REVIEW.findall(generate("aggregation", tokens, 1).context)) == \
            item_count(tokens)


@pytest.mark.parametrize("seed", range(8))
def test_gold_is_the_number_of_reviews_with_the_asked_label(seed: int) -> None:
    task = generate("aggregation", 8192, seed)
    asked = QUESTION.fullmatch(task.question)
    assert asked is not None, f"the question is not in the documented form: {task.question!r}"
    total, domain, label = int(asked.group(1)), asked.group(2), asked.group(3)
    found = [(int(m.group(1)), m.group(2), m.start()) for m in REVIEW.finditer(task.context)]
    items = task.verify["items"]
    assert len(found) == len(items) == total == 20
    assert [n for n, _, _ in found] == list(range(1, total + 1))  # numbered in text order
    for (number, text, offset), item in zip(found, items, strict=True):
        assert item["number"] == number and item["offset"] == offset
        assert item["text"] == f"Review {number}: {text}"
        # The label is what the review's closing verdict says.
        verdict = PRAISING_VERDICTS if item["label"] == "positive" else DAMNING_VERDICTS
        assert any(text.endswith(v) for v in verdict), text
    assert task.verify["label"] == label and task.verify["domain"] == domain
    assert task.gold == sum(1 for item in items if item["label"] == label)
    assert task.answer_type == "number" and isinstance(task.gold, int)
    counts = task.verify["counts"]
    assert counts[label] == task.gold and sum(counts.values()) == total
    assert min(counts.values()) >= 5  # both labels well represented at this size


def test_questions_ask_for_both_labels_and_vary_their_answer() -> None:
    tasks = [generate("aggregation", 4096, s) for s in range(20)]
    assert {t.verify["label"] for t in tasks} == set(LABELS)
    assert len({t.gold for t in tasks}) >= 5
    assert len({t.verify["domain"] for t in tasks}) >= 3


@pytest.mark.parametrize("seed", range(6))
def test_no_label_word_leaks_and_no_word_marks_a_label(seed: int) -> None:
    task = generate("aggregation", 8192, seed)
    low = task.context.lower()
    assert "positive" not in low and "negative" not in low  # grep finds nothing to count
    items = task.verify["items"]
    texts = [item["text"].lower() for item in items]
    assert len(set(texts)) == len(texts)  # no review repeated
    for label in LABELS:
        mine = {i for i, item in enumerate(items) if item["label"] == label}
        words = {w for t in texts for w in re.findall(r"[a-z]+", t)}
        for word in words:
            having = {i for i, t in enumerate(texts) if re.search(rf"\b{word}\b", t)}
            assert having != mine, f"{word!r} marks every {label} review and no other"


def test_a_keyword_counter_scores_poorly() -> None:
    """Counting sentiment words (what `grep` can do) misses: negation, verdicts told in
    phrases, and words such as "good" and "bad" used by both kinds."""
    bad = {"bad", "not", "never", "no", "worst", "poor", "terrible", "awful", "nobody"}
    good = {"good", "great", "excellent", "best", "loved", "recommend", "wonderful", "lovely"}
    scores = []
    for seed in range(20):
        task = generate("aggregation", 8192, seed)
        negative = 0
        for item in task.verify["items"]:
            words = re.findall(r"[a-z]+", item["text"].lower())
            negative += sum(w in bad for w in words) > sum(w in good for w in words)
        total = len(task.verify["items"])
        guess = negative if task.verify["label"] == "negative" else total - negative
        scores.append(score_answer(str(guess), task.answer_type, task.gold).score)
    assert sum(scores) / len(scores) < 0.5


@pytest.mark.parametrize("tokens", [2048, 8192, 2**15])
def test_the_reviews_are_what_the_items_helpers_find(tokens: int) -> None:
    task = generate("aggregation", tokens, 3)
    patterns = item_patterns(_default=task.context)
    assert patterns[0].label == "Review N:" and patterns[0].count == len(task.verify["items"])
    items = find_items(_default=task.context)
    assert [str(x) for x in items] == [item["text"] for item in task.verify["items"]]
    assert [x.start for x in items] == [item["offset"] for item in task.verify["items"]]


@pytest.mark.parametrize(("answer", "score"), [
    ("{gold}", 1.0), ("{plus}", 0.75), ("{minus}", 0.75), ("Answer: {plus2}", 0.75 ** 2),
    ("I could not tell", 0.0),
])
def test_answers_score_by_their_distance_from_the_gold(answer: str, score: float) -> None:
    task = generate("aggregation", 8192, 2)
    text = answer.format(gold=task.gold, plus=task.gold + 1, minus=task.gold - 1,
                         plus2=task.gold + 2)
    assert score_answer(text, task.answer_type, task.gold).score == pytest.approx(score)


def test_tasks_are_the_same_bytes_in_another_process() -> None:
    code = ("import hashlib, json\nfrom rlm_toolkit.bench import generate\n"
            "t = json.dumps(generate('aggregation', 2048, 3).to_dict(), sort_keys=True)\n"
            "print(hashlib.sha256(t.encode()).hexdigest())\n")
    env = {**os.environ, "PYTHONHASHSEED": "4321"}
    there = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True, timeout=120).stdout.strip()
    here = hashlib.sha256(dump(generate("aggregation", 2048, 3))).hexdigest()
    # Published results name tasks by kind, size and seed: change this on purpose only.
    assert there == here == PINNED


PINNED = "566a206989dd06567edbd58a72fe44faea4dff9a237065067290b3e554267093"


# --- an oracle reads every review: the RLM run answers right -----------------------------

def oracle(task: Task) -> ScriptedLLM:
    """Root: find the reviews and classify them with the sub model. Sub model: reads the
    review's label from the task's verification data (a perfect reader)."""
    label_of = {item["number"]: item["label"] for item in task.verify["items"]}
    asked = task.verify["label"]

    def reply(messages: list[Message]) -> str:
        last = str(messages[-1]["content"])
        if "Classify the item" in last:
            number = re.search(r"Item:\nReview (\d+):", last)
            assert number, last
            return json.dumps({"label": label_of[int(number.group(1))]})
        return ("```repl\nitems = find_items()\n"
                "labels = classify(items, ['positive', 'negative'])\n"
                f"FINAL(str(labels.count({asked!r})))\n```")

    return ScriptedLLM(reply, context_window=8192)


async def test_an_rlm_run_that_reads_every_review_scores_one(tmp_path: Path) -> None:
    task = generate("aggregation", 8192, 4)
    llm = oracle(task)
    method = RLMMethod(llm, llm, depth=1, max_iterations=3, step_timeout_s=30)
    [record] = await run_bench([task], [method], tmp_path / "results.jsonl", progress=False)
    assert record["status"] == "success", record
    assert record["answer"].strip() == str(task.gold) and record["score"] == 1.0
    assert record["subcalls"] == len(task.verify["items"]) == 20
