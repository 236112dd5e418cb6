"""A real uvicorn server on a loopback port: hot reload under load, and SIGKILL in the middle of feedback."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from serving.settings import ServingSettings
from serving.store import FeedbackStore
from tests.serving.conftest import Registry, Server, headers, run_server

PLATFORM, ADMIN = headers("platform"), headers("admin")


@pytest.fixture
def server(settings: ServingSettings) -> Iterator[Server]:
    """The API in its own process, serving version 1."""
    with run_server(settings) as running:
        yield running


def test_reload_under_load_drops_nothing(server: Server, registry: Registry) -> None:
    residents = [f"R{i:07d}" for i in range(1, 400)]
    seen: list[list[str]] = [[] for _ in range(3)]
    failures: list[str] = []
    stop = threading.Event()

    def hammer(mine: list[str]) -> None:
        with httpx.Client(base_url=server.url, headers=PLATFORM, timeout=60) as client:
            while not stop.is_set():
                try:
                    response = client.get(f"/recommendations/{random.choice(residents)}", params={"k": 5})
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
                else:
                    mine.append(response.json()["model_version"])

    threads = [threading.Thread(target=hammer, args=(mine,)) for mine in seen]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        registry.set_champion("2")
        reload = httpx.post(f"{server.url}/models/reload", headers=ADMIN, timeout=300)
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        registry.set_champion("1")
    assert reload.status_code == 200 and reload.json()["version"] == "2"
    assert failures == []
    for versions in seen:
        assert versions[0] == "1" and versions[-1] == "2"
        switch = versions.index("2")
        assert set(versions[switch:]) == {"2"}, "a list from the old model came after one from the new"


def test_sigkill_loses_no_acknowledged_event(server: Server, settings: ServingSettings) -> None:
    with httpx.Client(base_url=server.url, headers=PLATFORM, timeout=30) as client:
        lists = [client.get(f"/recommendations/R{i:07d}").json() for i in range(1, 21)]
    acknowledged: list[str] = []
    attempted: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def send(worker: int) -> None:
        with httpx.Client(base_url=server.url, headers=PLATFORM, timeout=30) as client:
            for number in range(10_000):
                tag = f"w{worker}-b{number}"
                served = lists[number % len(lists)]
                events = [{"request_id": served["request_id"], "resident_id": served["resident_id"],
                           "service_id": served["data"][0]["service_id"], "event": "view",
                           "comment": f"{tag}-e{i}"} for i in range(25)]
                with lock:
                    attempted.append(tag)
                try:
                    response = client.post("/feedback", json={"events": events})
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 201:
                    with lock:
                        acknowledged.append(tag)
                        if len(acknowledged) >= 40:
                            enough.set()

    threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    assert enough.wait(120), "the server acknowledged too few batches"
    os.kill(server.process.pid, signal.SIGKILL)
    for thread in threads:
        thread.join(60)
    server.process.wait(10)
    stored = FeedbackStore(settings.store_url()).events()
    per_batch = stored["comment"].str.rsplit("-", n=1).str[0].value_counts()
    assert set(acknowledged) <= set(per_batch.index), "an acknowledged batch is missing after SIGKILL"
    assert (per_batch == 25).all(), "a batch was stored in part"
    assert set(per_batch.index) <= set(attempted)
