"""Rate limits shared by several server processes: two limiters on one store, hammered from threads, grant no more
than one bucket holds."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from serving.rate_limit import RateLimiter
from serving.rate_limit_store import redis_client, sql_engine

REDIS = "redis://127.0.0.1:6379/15"


def _redis_or_skip() -> str:
    try:
        redis_client(REDIS)
    except ValueError as exc:
        pytest.skip(f"no Redis on 127.0.0.1:6379: {exc}")
    return REDIS


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'rate.db'}" if request.param == "sqlite" else _redis_or_skip()


def test_two_processes_share_one_bucket(store: str) -> None:
    rate, burst = 2.0, 5.0  # a bucket of 10
    limiters = [RateLimiter({"platform": rate}, burst, 60, store) for _ in range(2)]  # as two processes would
    key = f"key-{time.time_ns()}"
    granted = [0]
    lock = threading.Lock()
    started = time.time()

    def hammer(limiter: RateLimiter) -> None:
        for _ in range(15):
            if limiter.take(key, "platform") == 0:
                with lock:
                    granted[0] += 1

    threads = [threading.Thread(target=hammer, args=(limiters[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refilled = (time.time() - started) * rate
    assert 10 <= granted[0] <= 10 + refilled + 1e-9
    assert limiters[0].take(key, "platform") > 0 or refilled >= 1  # spent for both


def test_failed_sign_ins_are_counted_across_processes(store: str) -> None:
    limiters = [RateLimiter({"platform": 100}, 5, 6, store) for _ in range(2)]  # 6 failures per minute
    address = f"10.0.0.{time.time_ns() % 250}-{time.time_ns()}"
    for i in range(6):
        assert limiters[i % 2].blocked(address) == 0
        limiters[i % 2].failed(address)
    assert limiters[0].blocked(address) > 0 and limiters[1].blocked(address) > 0


def test_a_broken_store_lets_requests_pass_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    limiter = RateLimiter({"platform": 1}, 1, 60, url)
    with sql_engine(url).begin() as conn:
        conn.exec_driver_sql("DROP TABLE rate_buckets")
    with caplog.at_level(logging.WARNING, logger="serving.rate_limit"):
        assert [limiter.take("k", "platform") for _ in range(3)] == [0, 0, 0]
    assert "rate-limit store unavailable" in caplog.text
