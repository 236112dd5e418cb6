"""GET /residents/{id}/persona (one resident, platform) and GET /segments (aggregates only, planner)."""

from __future__ import annotations

import pytest

from serving.model_holder import ModelHolder
from tests.serving.conftest import TestClient, headers

PLATFORM, PLANNER = headers("platform"), headers("planner")


def test_persona_has_the_profiles_reasons_and_segment(client: TestClient, holder: ModelHolder) -> None:
    profile = holder.current.bundle.profile
    for resident in ["R0000001", "R0000003", "R0000010", "R0000100"]:
        body = client.get(f"/residents/{resident}/persona", headers=PLATFORM).json()
        assert [f"{p['persona']}: {p['reason']}" for p in body["personas"]] == profile.personas.reasons_for(resident)
        assert body["segment"] == int(profile.segments[resident])
        described = profile.segment_model.descriptions_.loc[body["segment"]]
        assert body["segment_description_zh"] == described["description_zh"]
        assert body["model_version"] == "1"


def test_persona_of_an_unknown_resident_is_404(client: TestClient) -> None:
    response = client.get("/residents/NOBODY/persona", headers=PLATFORM)
    assert response.status_code == 404 and "NOBODY" in response.json()["detail"]


@pytest.mark.parametrize("level", ["community", "street", "district"])
def test_segments_show_no_count_below_k(client: TestClient, holder: ModelHolder, level: str) -> None:
    body = client.get("/segments", params={"level": level}, headers=PLANNER).json()
    report = holder.current.bundle.profile.reports
    assert body["k"] == report.k and body["count"] == len(report.level(level)) == len(body["data"])
    marker = f"<{report.k}"
    for unit in body["data"]:
        counts = [unit["residents"], *unit["personas"].values(), *unit["segments"].values()]
        assert all(c == marker or (isinstance(c, int) and c >= report.k) for c in counts), unit
        hidden = {f"persona_{p}" for p, v in unit["personas"].items() if v == marker}
        assert hidden <= set(unit["suppressed"])


def test_small_cells_are_suppressed_somewhere(client: TestClient) -> None:
    units = client.get("/segments", params={"level": "community"}, headers=PLANNER).json()["data"]
    assert any(unit["suppressed"] for unit in units)


def test_one_unit_by_id(client: TestClient) -> None:
    streets = client.get("/segments", params={"level": "street"}, headers=PLANNER).json()["data"]
    one = client.get("/segments", params={"level": "street", "id": streets[0]["id"]}, headers=PLANNER).json()
    assert one["count"] == 1 and one["data"][0] == streets[0]
    assert client.get("/segments", params={"level": "street", "id": "S-NONE"}, headers=PLANNER).status_code == 404
    assert client.get("/segments", params={"level": "city"}, headers=PLANNER).status_code == 422
