"""GET /models, POST /models/reload and readiness: a bundle that fails to load or validate never replaces a
working one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from serving.app import create_app
from serving.feedback_models import ServedItem, ServedList, now_local
from serving.model_holder import ModelHolder, ModelLoadError
from serving.settings import ServingSettings
from serving.store import FeedbackStore
from tests.serving.conftest import MODEL, Registry, TestClient, headers

ADMIN, PLATFORM = headers("admin"), headers("platform")


@pytest.fixture
def own_client(settings: ServingSettings) -> Iterator[TestClient]:
    """An API with its own holder (reloads here do not touch the shared one), ready on version 1."""
    with TestClient(create_app(settings)) as test_client:
        _wait_ready(test_client)
        yield test_client


def _wait_ready(client: TestClient, seconds: float = 120) -> None:
    import time

    deadline = time.monotonic() + seconds
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/ready").json()
        time.sleep(0.1)


def _register_copy(registry: Registry, tmp_path: Path, alias: str, damage: str) -> str:
    """Register a new version whose artifacts are version 1's, damaged; point ``alias`` at it."""
    source = Path(urlparse(registry.client.get_model_version_download_uri(MODEL, "1")).path)
    copy = tmp_path / f"artifacts-{alias}"
    if damage == "deleted":
        target = copy.as_uri()  # never created
    else:
        shutil.copytree(source, copy)
        bundle = next(copy.rglob("bundle.pkl"))
        bundle.write_bytes(b"not a pickle at all")
        target = copy.as_uri()
    version = registry.client.create_model_version(MODEL, target, run_id=None)
    registry.client.set_registered_model_alias(MODEL, alias, version.version)
    return str(version.version)


def test_models_lists_versions_aliases_serving_and_counts(client: TestClient) -> None:
    served = client.get("/recommendations/R0000001", headers=PLATFORM).json()
    item = served["data"][0]["service_id"]
    client.post("/feedback", headers=PLATFORM, json={"request_id": served["request_id"], "resident_id": "R0000001",
                                                     "service_id": item, "event": "view"})
    body = client.get("/models", headers=ADMIN).json()
    versions = {v["version"]: v for v in body["data"]}
    assert {"1", "2"} <= set(versions)
    assert "champion" in versions["1"]["aliases"] and versions["1"]["serving"] and not versions["2"]["serving"]
    assert (versions["1"]["served_lists"], versions["1"]["feedback_events"]) == (1, 1)
    assert versions["2"]["served_lists"] == 0
    assert body["serving"]["version"] == "1" and body["serving"]["residents"] > 0
    assert body["serving"]["rule_inputs_stored"] is True and body["serving"]["open_seconds"] >= 0
    assert not {"from_cache", "precompute_seconds"} & set(body["serving"])  # renamed (docs/api.md)
    assert [int(v["version"]) for v in body["data"]] == sorted((int(v) for v in versions), reverse=True)


def test_models_counts_all_time_but_metrics_only_the_window(client: TestClient, store: FeedbackStore) -> None:
    served = client.get("/recommendations/R0000001", headers=PLATFORM).json()
    old = ServedList(request_id="old-list", resident_id="R0000002", model_version="1",
                     served_at=now_local() - timedelta(days=40),
                     items=[ServedItem(service_id=served["data"][0]["service_id"], position=1, score=1.0)])
    with store:
        store.log_served(old)
    body = client.get("/models", headers=ADMIN, params={"days": 30}).json()
    version = next(v for v in body["data"] if v["version"] == "1")
    assert version["served_lists"] == 2  # all time: the list from 40 days ago counts
    window = [m for m in body["variants"] if m["version"] == "1"]
    assert sum(m["lists"] for m in window) == 1  # the live metrics cover the last 30 days only
    wide = client.get("/models", headers=ADMIN, params={"days": 60}).json()
    assert sum(m["lists"] for m in wide["variants"] if m["version"] == "1") == 2


def test_reload_swaps_to_the_new_champion(own_client: TestClient, registry: Registry) -> None:
    try:
        registry.set_champion("2")
        response = own_client.post("/models/reload", headers=ADMIN)
        assert response.status_code == 200 and response.json()["version"] == "2"
        assert own_client.get("/recommendations/R0000001", headers=PLATFORM).json()["model_version"] == "2"
        assert own_client.get("/ready").json()["model_version"] == "2"
    finally:
        registry.set_champion("1")


@pytest.mark.parametrize("damage", ["deleted", "corrupt"])
def test_failed_reload_keeps_the_old_model(own_client: TestClient, registry: Registry, tmp_path: Path,
                                           damage: str) -> None:
    version = _register_copy(registry, tmp_path, f"broken-{damage}", damage)
    response = own_client.post("/models/reload", json={"alias": f"broken-{damage}"}, headers=ADMIN)
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "version 1 keeps serving" in detail and f"version {version}" in detail
    after = own_client.get("/recommendations/R0000001", headers=PLATFORM)
    assert after.status_code == 200 and after.json()["model_version"] == "1"


def test_reload_of_a_missing_alias_is_409(own_client: TestClient) -> None:
    response = own_client.post("/models/reload", json={"alias": "no-such-alias"}, headers=ADMIN)
    assert response.status_code == 409 and "no-such-alias" in response.json()["detail"]
    bad = own_client.post("/models/reload", json={"alias": "../etc"}, headers=ADMIN)
    assert bad.status_code == 422


def test_not_ready_until_a_model_is_loaded(settings: ServingSettings) -> None:
    with TestClient(create_app(settings, load_on_start=False)) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "not ready"
        assert "Retry-After" in ready.headers
        waiting = client.get("/recommendations/R0000001", headers=PLATFORM)
        assert waiting.status_code == 503 and "Retry-After" in waiting.headers
        assert client.get("/health").status_code == 200
        assert client.post("/models/reload", headers=ADMIN).status_code == 200
        assert client.get("/ready").status_code == 200


def test_start_without_champion_says_why(settings: ServingSettings) -> None:
    with TestClient(create_app(settings.model_copy(update={"model_alias": "gold"}))) as client:
        import time

        deadline = time.monotonic() + 60
        while client.get("/ready").json()["detail"] == "loading the model":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        ready = client.get("/ready")
        assert ready.status_code == 503 and "gold" in ready.json()["detail"]


def test_lists_come_with_the_version(settings: ServingSettings, holder: ModelHolder) -> None:
    again = ModelHolder(settings).load()
    assert again.rule_inputs_stored and again.version == holder.current.version
    assert len(again.lists) == len(holder.current.lists) == len(holder.current.bundle.resident_ids())
    for mine, theirs in zip(again.lists.files, holder.current.lists.files, strict=True):
        assert (mine.hashes == theirs.hashes).all() and (mine.services == theirs.services).all()


def test_holder_raises_load_errors(settings: ServingSettings) -> None:
    with pytest.raises(ModelLoadError, match="silver"):
        ModelHolder(settings).load("silver")
