"""Group commit: concurrent callers share one write, each returns only after its own items are written, and one
caller's bad items do not cost the others."""

from __future__ import annotations

import threading
import time

import pytest

from serving.group_commit import GroupCommit


class SlowLog:
    """A write that takes a while (like a disk flush) and refuses the item ``"bad"``."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.transactions: list[list[str]] = []

    def write(self, items: list[str]) -> None:
        time.sleep(0.02)
        if "bad" in items:
            raise ValueError("bad item")
        self.transactions.append(list(items))
        self.written.extend(items)


def _submit_all(commit: GroupCommit[str], log: SlowLog, batches: list[list[str]]) -> dict[int, BaseException | None]:
    outcome: dict[int, BaseException | None] = {}
    barrier = threading.Barrier(len(batches))

    def run(i: int) -> None:
        barrier.wait()
        try:
            commit.submit(batches[i], log.write)
            assert set(batches[i]) <= set(log.written), "returned before its items were written"
            outcome[i] = None
        except ValueError as exc:
            outcome[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return outcome


def test_concurrent_callers_share_transactions_and_each_sees_its_items_written() -> None:
    commit: GroupCommit[str] = GroupCommit()
    log = SlowLog()
    batches = [[f"list-{i}-a", f"list-{i}-b"] for i in range(16)]
    outcome = _submit_all(commit, log, batches)
    assert outcome == dict.fromkeys(range(16))
    assert sorted(log.written) == sorted(item for batch in batches for item in batch)
    assert len(log.transactions) < 16  # callers that arrived during a write shared the next one
    for transaction in log.transactions:  # a caller's items are never split across writes
        for batch in batches:
            assert set(batch) <= set(transaction) or not set(batch) & set(transaction)


def test_one_bad_caller_does_not_cost_the_others_their_write() -> None:
    commit: GroupCommit[str] = GroupCommit()
    log = SlowLog()
    batches = [["bad"]] + [[f"good-{i}"] for i in range(7)]
    outcome = _submit_all(commit, log, batches)
    assert isinstance(outcome[0], ValueError)
    assert all(outcome[i] is None for i in range(1, 8))
    assert sorted(log.written) == sorted(f"good-{i}" for i in range(7))


def test_a_lone_caller_gets_its_own_error() -> None:
    commit: GroupCommit[str] = GroupCommit()
    with pytest.raises(ValueError, match="bad item"):
        commit.submit(["bad"], SlowLog().write)
    log = SlowLog()
    commit.submit(["fine"], log.write)  # the failure left nothing stuck
    assert log.written == ["fine"]
