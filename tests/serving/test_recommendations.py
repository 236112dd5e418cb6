"""GET /recommendations/{id} and POST /recommendations: the model's own answers, logged, with context filters,
cold start and clear 4xx for bad input."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest

from features.columns import LIST_SEPARATOR
from features.columns import Columns as C
from serving.app import create_app
from serving.model_holder import ModelHolder
from serving.routes.recommendations import LOGGED_HEADER
from serving.settings import ServingSettings
from serving.store import FeedbackStore
from tests.serving.conftest import TestClient, headers

PLATFORM = headers("platform")
NEWCOMER = {"resident_id": "NEW-1", "community_id": "C0001", "birth_year": 1948, "household_size": 2,
            "children_under_18": 0, "employment": "retired", "residency": "registered",
            "accessibility_needs": "mobility", "preferred_channel": "offline"}


def _residents(holder: ModelHolder, n: int = 40) -> list[str]:
    ids = holder.current.bundle.model.resident_ids_.external
    return [str(ids[i]) for i in range(0, len(ids), max(1, len(ids) // n))][:n]


@pytest.mark.parametrize("k", [1, 3, 10, 15])
def test_lists_are_the_models_own_answer(client: TestClient, holder: ModelHolder, k: int) -> None:
    residents = _residents(holder)
    expected = holder.current.bundle.recommend(residents, k, explain=True)
    for resident in residents:
        response = client.get(f"/recommendations/{resident}", params={"k": k}, headers=PLATFORM)
        assert response.status_code == 200
        body = response.json()
        mine = expected[expected[C.RESIDENT] == resident]
        assert [item["service_id"] for item in body["data"]] == mine[C.SERVICE].tolist()
        assert [item["explanation_zh"] for item in body["data"]] == mine["explanation_zh"].tolist()
        assert [item["rank"] for item in body["data"]] == list(range(1, len(mine) + 1))
        assert body["count"] == len(mine) <= k


def test_every_list_is_logged_with_request_id_version_and_variant(client: TestClient, store: FeedbackStore) -> None:
    first = client.get("/recommendations/R0000001", headers=PLATFORM)
    second = client.get("/recommendations/R0000001", headers=PLATFORM)
    assert first.headers[LOGGED_HEADER] == "true"
    one, two = first.json(), second.json()
    assert uuid.UUID(one["request_id"]).version == 4 and one["request_id"] != two["request_id"]
    assert (one["model_version"], one["variant"]) == ("1", "champion")
    served = store.served()
    logged = served[served["request_id"] == one["request_id"]].sort_values("position")
    assert logged[C.SERVICE].tolist() == [item["service_id"] for item in one["data"]]
    assert logged["position"].tolist() == [item["rank"] for item in one["data"]]
    assert set(logged["model_version"]) == {"1"} and set(logged[C.RESIDENT]) == {"R0000001"}


def test_context_keeps_only_fitting_services(client: TestClient, holder: ModelHolder) -> None:
    services = holder.current.bundle.model.services_.set_index(C.SERVICE)
    for resident in _residents(holder, 15):
        online = client.get(f"/recommendations/{resident}", params={"channel": "online"}, headers=PLATFORM).json()
        assert {item["channel"] for item in online["data"]} <= {"online", "both"}
        local = client.get(f"/recommendations/{resident}", params={"community": "C0002"}, headers=PLATFORM).json()
        for item in local["data"]:
            scope = services.at[item["service_id"], C.COMMUNITY_SCOPE]
            assert pd.isna(scope) or "C0002" in str(scope).split(LIST_SEPARATOR)
        night = client.get(f"/recommendations/{resident}", params={"time": "2026-11-04T03:00:00+08:00"},
                           headers=PLATFORM).json()
        assert {services.at[item["service_id"], C.OPENING_HOURS] for item in night["data"]} <= {"00:00-24:00"}


def test_unknown_resident_is_a_clear_404(client: TestClient) -> None:
    response = client.get("/recommendations/NOBODY-42", headers=PLATFORM)
    assert response.status_code == 404
    assert "NOBODY-42" in response.json()["detail"] and "profiles" in response.json()["detail"]


@pytest.mark.parametrize("query", [{"k": 0}, {"k": 51}, {"k": "ten"}, {"channel": "fax"}, {"time": "yesterday"}])
def test_bad_parameters_are_422_naming_the_field(client: TestClient, query: dict[str, object]) -> None:
    response = client.get("/recommendations/R0000001", params=query, headers=PLATFORM)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(query))]


def test_batch_mixes_known_and_cold_start_residents(client: TestClient, holder: ModelHolder,
                                                    store: FeedbackStore) -> None:
    body = {"residents": ["R0000002", "NEW-1"], "k": 5, "profiles": [NEWCOMER]}
    response = client.post("/recommendations", json=body, headers=PLATFORM)
    assert response.status_code == 200
    lists = response.json()["data"]
    assert [(x["resident_id"], x["cold_start"]) for x in lists] == [("R0000002", False), ("NEW-1", True)]
    assert 0 < lists[1]["count"] <= 5
    expected = holder.current.bundle.recommend(["NEW-1"], 5, profile_rows=pd.DataFrame([NEWCOMER]))
    assert [x["service_id"] for x in lists[1]["data"]] == expected[C.SERVICE].tolist()
    assert set(store.served()["request_id"]) == {x["request_id"] for x in lists}


@pytest.mark.parametrize(("body", "field"), [
    ({"residents": []}, "residents"),
    ({"residents": ["R0000001"] * 101}, "residents"),
    ({"residents": ["R0000001"], "k": 99}, "k"),
    ({"residents": ["NEW-1"], "profiles": [{**NEWCOMER, "birth_year": 1800}]}, "birth_year"),
    ({"residents": ["NEW-1"], "profiles": [{**NEWCOMER, "employment": "astronaut"}]}, "employment"),
    ({"residents": ["NEW-1"], "profiles": [{**NEWCOMER, "name": "张三"}]}, "name"),
    ({"residents": "R0000001"}, "residents"),
])
def test_bad_batches_are_422_naming_the_field(client: TestClient, body: dict[str, object], field: str) -> None:
    response = client.post("/recommendations", json=body, headers=PLATFORM)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


def test_batch_refuses_repeats_and_strangers(client: TestClient) -> None:
    twice = client.post("/recommendations", json={"residents": ["R0000001", "R0000001"]}, headers=PLATFORM)
    assert twice.status_code == 422 and "more than once" in twice.json()["detail"]
    stranger = client.post("/recommendations", json={"residents": ["R0000001"], "profiles": [NEWCOMER]},
                           headers=PLATFORM)
    assert stranger.status_code == 422 and "NEW-1" in stranger.json()["detail"]
    missing = client.post("/recommendations", json={"residents": ["R0000001", "NEW-9"]}, headers=PLATFORM)
    assert missing.status_code == 404 and "NEW-9" in missing.json()["detail"]


def test_lists_are_served_when_the_store_is_down(registry_settings_down: ServingSettings,
                                                 holder: ModelHolder) -> None:
    with TestClient(create_app(registry_settings_down, holder=holder)) as down:
        response = down.get("/recommendations/R0000001", headers=PLATFORM)
        assert response.status_code == 200 and response.json()["count"] > 0
        assert response.headers[LOGGED_HEADER] == "false"
        batch = down.post("/recommendations", json={"residents": ["R0000001", "R0000002"]}, headers=PLATFORM)
        assert batch.status_code == 200 and batch.headers[LOGGED_HEADER] == "false"
        ready = down.get("/ready").json()
        assert ready["status"] == "ready" and ready["store"] == "unavailable"


@pytest.fixture
def registry_settings_down(settings: ServingSettings, tmp_path: Path) -> ServingSettings:
    """Settings whose feedback database cannot be reached (nothing listens on port 1)."""
    return settings.model_copy(update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/test"})
