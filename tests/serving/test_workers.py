"""``linli serve --workers 2`` on loopback: both processes serve, and what must hold across them does — A/B
stickiness, feedback on a list another process served, one rate limit, a reload that reaches both, /metrics summing
both, and JSON logs without a key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from experiments.local_server import free_port, stop, wait_ready
from serving.ab import in_challenger
from serving.settings import ServingSettings
from tests.serving.conftest import API_KEYS, KEYS, MODEL, Registry, headers

pytestmark = pytest.mark.slow
PLATFORM, PLANNER, ADMIN = headers("platform"), headers("planner"), headers("admin")
SHARE, SALT = 0.5, "linli-ab"


@dataclass(frozen=True)
class Workers:
    url: str
    log: Path


def _fresh(url: str, path: str, **kwargs: object) -> httpx.Response:
    """One request on a new connection (so the kernel may hand it to either worker)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        return client.request(kwargs.pop("method", "GET"), path, **kwargs)  # type: ignore[arg-type]


def _versions(url: str, variant: str = "champion") -> dict[str, float]:
    """Worker pid → the version it serves as ``variant`` (``linli_served_model_version``)."""
    text = _fresh(url, "/metrics", headers=ADMIN).text
    return {
        s.labels["pid"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "linli_served_model_version" and s.labels.get("variant") == variant
    }


def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.5)


@pytest.fixture
def workers(settings: ServingSettings, registry: Registry, tmp_path: Path) -> Iterator[Workers]:
    """Two worker processes with A/B on (challenger → version 2 for half the residents), planner keys at 1 request/s
    with a burst of 5."""
    registry.client.set_registered_model_alias(MODEL, "challenger", "2")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k == "LINLI_ARTIFACT_KEY" or not k.startswith(("LINLI_", "PROM"))}
    env |= {
        "OPENBLAS_NUM_THREADS": "1",
        "LINLI_DATA_DIR": str(tmp_path),
        "LINLI_MODEL_NAME": MODEL,
        "LINLI_MLFLOW_TRACKING_URI": registry.tracking_uri,
        "LINLI_CACHE_DIR": str(settings.cache_dir),
        "LINLI_API_KEYS": API_KEYS,
        "LINLI_PRECOMPUTE_WORKERS": "1",
        "LINLI_CHALLENGER_SHARE": str(SHARE),
        "LINLI_AB_SALT": SALT,
        "LINLI_EXPLORATION_RATE": "0.3",
        "LINLI_RATE_LIMIT_PLANNER": "1",
        "LINLI_RATE_BURST_SECONDS": "5",
        "LINLI_SERVED_LOG_WAIT_MS": "10000",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "linli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, 300, log)
        _until(lambda: len(_versions(url)) == len(_versions(url, "challenger")) == 2, 300, "both serving both arms")
        yield Workers(url, log)
    finally:
        stop(process)
        registry.client.delete_registered_model_alias(MODEL, "challenger")
        registry.set_champion("1")


def test_two_workers_agree(workers: Workers, registry: Registry) -> None:
    url = workers.url
    # A/B stickiness and exploration: every list of a resident comes from its arm, whichever worker answers
    residents = [f"R{i:07d}" for i in range(1, 21)]
    served = []
    for resident in residents:
        for _ in range(3):
            body = _fresh(url, f"/recommendations/{resident}", headers=PLATFORM).json()
            expected = "challenger" if in_challenger(resident, SHARE, SALT) else "champion"
            assert body["variant"] == expected, (resident, body["variant"])
            served.append(body)
    assert {b["variant"] for b in served} == {"champion", "challenger"}
    # feedback on lists served by either worker is accepted by either worker
    for body in served[:20]:
        event = {
            "request_id": body["request_id"],
            "resident_id": body["resident_id"],
            "service_id": body["data"][-1]["service_id"],
            "event": "click",
        }
        answer = _fresh(url, "/feedback", method="POST", json=event, headers=PLATFORM)
        assert answer.status_code == 201 and answer.json()["stored"] == 1, answer.text
    # one rate limit for both: a planner key gets its burst of 5 (plus what refills), not 5 per worker
    started = time.monotonic()
    codes = [_fresh(url, "/segments", params={"level": "district"}, headers=PLANNER).status_code for _ in range(16)]
    refilled = int(time.monotonic() - started) + 1
    assert 5 <= codes.count(200) <= 5 + refilled and codes.count(429) >= 16 - 5 - refilled, codes
    # /metrics sums both workers: every list above was counted once
    text = _fresh(url, "/metrics", headers=ADMIN).text
    lists = sum(
        s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == "linli_lists_served_total"
    )
    assert lists == len(served)
    # a reload answered by one worker reaches the other
    assert set(_versions(url).values()) == {1.0}
    registry.set_champion("2")
    reloaded = _fresh(url, "/models/reload", method="POST", headers=ADMIN)
    assert reloaded.status_code == 200 and reloaded.json()["version"] == "2"
    _until(lambda: set(_versions(url).values()) == {2.0} and len(_versions(url)) == 2, 120, "both on version 2")
    assert {_fresh(url, "/ready").json()["model_version"] for _ in range(10)} == {"2"}


def test_logs_are_json_lines_without_a_key(workers: Workers) -> None:
    rid = "trace-workers-0001"
    answer = _fresh(workers.url, "/models", params={"api_key": KEYS["admin"]}, headers={"X-Request-ID": rid})
    assert answer.status_code == 401 and answer.headers["X-Request-ID"] == rid
    time.sleep(0.5)
    text = workers.log.read_text()
    for key in KEYS.values():
        assert key not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "uvicorn.access" and line["request_id"] == rid]
    assert access and access[0]["path"] == "/models?api_key=[redacted]" and access[0]["status"] == 401
    assert len({line["pid"] for line in lines}) >= 2  # both workers log
