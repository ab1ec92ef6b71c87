"""The job ledger: open grants plus spending never pass the job's limits."""

from __future__ import annotations

import random
import threading

from rlm_toolkit.batch import Grant, JobLedger


def test_concurrent_reserve_and_settle_never_pass_the_limit() -> None:
    ledger = JobLedger(max_tokens=10_000, max_cost=1.0, share=8)
    lows: list[float] = []
    rng = random.Random(3)
    lock = threading.Lock()

    def worker(w: int) -> None:
        for i in range(200):
            tid = f"{w}-{i}"
            grant = ledger.reserve(tid, None, None)
            if isinstance(grant, str):
                continue
            assert grant.tokens is not None and grant.cost is not None
            with lock:
                used = rng.randint(0, grant.tokens)
                state = ledger.state()
            # what is free after spending and every open grant is never negative
            lows.append(min(float(state["free_tokens"] or 0), float(state["free_cost"] or 0)))
            ledger.settle(tid, used, grant.cost * used / max(1, grant.tokens))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = ledger.state()
    assert min(lows) >= 0
    assert int(state["spent_tokens"] or 0) <= 10_000
    assert float(state["spent_cost"] or 0) <= 1.0 + 1e-9


def test_a_task_short_of_its_share_waits_while_others_hold_the_rest() -> None:
    ledger = JobLedger(max_tokens=10_000)
    a = ledger.reserve("a", 4_000, None)
    b = ledger.reserve("b", 4_000, None)
    assert isinstance(a, Grant) and isinstance(b, Grant)
    assert ledger.reserve("c", 4_000, None) == "busy"
    ledger.settle("a", 1_000, None)  # a gave back 3,000 it did not use
    c = ledger.reserve("c", 4_000, None)
    assert isinstance(c, Grant) and c.tokens == 4_000
    ledger.settle("b", 4_000, None)
    ledger.settle("c", 4_000, None)
    # 1,000 left and nothing runs: a task needing 4,000 is not started, one needing 500 is
    assert ledger.reserve("d", 4_000, None) == "spent"
    small = ledger.reserve("e", 500, None)
    assert isinstance(small, Grant) and small.tokens == 500


def test_a_retried_task_pays_for_its_lost_attempt_in_full() -> None:
    ledger = JobLedger(max_tokens=10_000)
    first = ledger.reserve("t", 3_000, None)
    second = ledger.reserve("t", 3_000, None)  # its worker died: the first grant is spent
    assert isinstance(first, Grant) and isinstance(second, Grant)
    assert (first.attempt, second.attempt) == (1, 2)
    assert ledger.state()["spent_tokens"] == 3_000
    ledger.charge_lost("t")
    assert ledger.state()["spent_tokens"] == 6_000
