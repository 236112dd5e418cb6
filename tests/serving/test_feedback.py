"""POST /feedback: acknowledged only once stored, all or nothing, clear 4xx, 503 with Retry-After when the
store is down."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from serving.app import create_app
from serving.model_holder import ModelHolder
from serving.settings import ServingSettings
from serving.store import FeedbackStore
from tests.serving.conftest import TestClient, headers

PLATFORM = headers("platform")
POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _event(served: dict[str, Any], **changes: object) -> dict[str, object]:
    event = {"request_id": served["request_id"], "resident_id": served["resident_id"],
             "service_id": served["data"][0]["service_id"], "event": "click"}
    return {**event, **changes}


def test_one_event_is_stored_before_201(client: TestClient, store: FeedbackStore, served: dict[str, Any]) -> None:
    response = client.post("/feedback", json=_event(served, channel="online"), headers=PLATFORM)
    assert response.status_code == 201 and response.json() == {"stored": 1, "duplicates": 0}
    events = store.events()
    assert len(events) == 1 and events["request_id"].iloc[0] == served["request_id"]
    assert events["model_version"].iloc[0] == "1"


def test_a_batch_is_stored_whole(client: TestClient, store: FeedbackStore, served: dict[str, Any]) -> None:
    batch = [_event(served, event=e) for e in ("impression", "view", "click", "book", "use")]
    batch.append(_event(served, event="rate", rating=4, comment="很方便，步行五分钟"))
    response = client.post("/feedback", json={"events": batch}, headers=PLATFORM)
    assert response.status_code == 201 and response.json() == {"stored": 6, "duplicates": 0}
    assert store.count_events() == 6
    assert store.events()["comment"].dropna().tolist() == ["很方便，步行五分钟"]


def test_unknown_request_id_is_404_and_stores_nothing(client: TestClient, store: FeedbackStore,
                                                      served: dict[str, Any]) -> None:
    batch = [_event(served), _event(served, request_id="never-served-123")]
    response = client.post("/feedback", json={"events": batch}, headers=PLATFORM)
    assert response.status_code == 404 and "never-served-123" in response.json()["detail"]
    assert store.count_events() == 0
    other = client.post("/feedback", json=_event(served, resident_id="R0000002"), headers=PLATFORM)
    assert other.status_code == 404 and "R0000002" in other.json()["detail"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"event": "rate"}, "rating"),
    ({"rating": 5}, "rating"),
    ({"event": "rate", "rating": 6}, "rating"),
    ({"event": "like"}, "event"),
    ({"channel": "fax"}, "channel"),
    ({"timestamp": "not a time"}, "timestamp"),
    ({"comment": "长" * 501}, "comment"),
    ({"request_id": 12}, "request_id"),
    ({"phone": "13800000000"}, "phone"),
])
def test_invalid_events_are_422_naming_the_field(client: TestClient, store: FeedbackStore, served: dict[str, Any],
                                                 changes: dict[str, object], field: str) -> None:
    for body in (_event(served, **changes), {"events": [_event(served), _event(served, **changes)]}):
        response = client.post("/feedback", json=body, headers=PLATFORM)
        assert response.status_code == 422, response.text
        assert field in [str(part) for error in response.json()["detail"] for part in error["loc"]]
    assert store.count_events() == 0


@pytest.mark.parametrize("body", [b"{not json", b"", b"[]", b"null", b"42", b'{"events": []}', b'{"events": {}}'])
def test_malformed_bodies_are_4xx(client: TestClient, body: bytes) -> None:
    response = client.post("/feedback", content=body, headers={**PLATFORM, "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500 and response.status_code != 404


def test_too_many_events_or_bytes_is_413(client: TestClient, store: FeedbackStore, served: dict[str, Any]) -> None:
    many = client.post("/feedback", json={"events": [_event(served)] * 1001}, headers=PLATFORM)
    assert many.status_code == 413 and "1000" in many.json()["detail"]
    big = json.dumps(_event(served, comment="x" * 2_000_000))
    response = client.post("/feedback", content=big, headers={**PLATFORM, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert store.count_events() == 0


def test_store_down_is_503_with_retry_after(settings: ServingSettings, holder: ModelHolder) -> None:
    down = settings.model_copy(update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/test"})
    with TestClient(create_app(down, holder=holder)) as client:
        served = client.get("/recommendations/R0000001", headers=PLATFORM).json()
        response = client.post("/feedback", json=_event(served), headers=PLATFORM)
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0 and "unavailable" in response.json()["detail"]


def test_store_coming_back_takes_feedback_again(settings: ServingSettings, holder: ModelHolder,
                                               tmp_path: Path) -> None:
    """A file blocks the database's folder at first (503, lists unlogged); once it is gone, feedback is stored."""
    blocker = tmp_path / "db"
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker / 'feedback.db'}"
    with TestClient(create_app(settings.model_copy(update={"database_url": url}), holder=holder)) as client:
        first = client.get("/recommendations/R0000001", headers=PLATFORM)
        assert first.status_code == 200 and first.headers["X-Linli-Logged"] == "false"
        assert client.post("/feedback", json=_event(first.json()), headers=PLATFORM).status_code == 503
        blocker.unlink()
        second = client.get("/recommendations/R0000001", headers=PLATFORM)
        assert second.headers["X-Linli-Logged"] == "true"
        response = client.post("/feedback", json=_event(second.json()), headers=PLATFORM)
        assert response.status_code == 201
        assert FeedbackStore(url).count_events() == 1


def test_feedback_through_the_api_on_postgresql(settings: ServingSettings, holder: ModelHolder) -> None:
    schema = f"linli_api_{uuid.uuid4().hex[:12]}"
    store = FeedbackStore(POSTGRES_URL, schema=schema)
    try:
        with TestClient(create_app(settings, holder=holder, store=store)) as client:
            served = client.post("/recommendations", json={"residents": ["R0000001", "R0000002"]},
                                 headers=PLATFORM)
            assert served.headers["X-Linli-Logged"] == "true"
            lists = served.json()["data"]
            batch = [_event(x, event="view") for x in lists] + [_event(lists[0], event="rate", rating=5)]
            response = client.post("/feedback", json={"events": batch}, headers=PLATFORM)
            assert response.status_code == 201 and response.json() == {"stored": 3, "duplicates": 0}
        reopened = FeedbackStore(POSTGRES_URL, schema=schema)
        assert reopened.count_events() == 3
        assert set(reopened.served()["request_id"]) == {x["request_id"] for x in lists}
        reopened.close()
    finally:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
