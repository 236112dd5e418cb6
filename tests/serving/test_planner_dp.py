"""The planner endpoints with differential privacy: ε on the page, fail closed without a private release."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from features import Dataset
from privacy.dp import EPSILON_SETTING, KEY_SETTING, PlannerDp
from profiling import build_reports
from profiling.reports import SegmentReport
from serving.model_holder import ModelHolder
from tests.serving.conftest import TestClient, headers

PLANNER = headers("planner")


@pytest.fixture
def private_report(holder: ModelHolder, dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> Iterator[SegmentReport]:
    """The served profile's reports swapped for a release at ε = 1.0 while the test runs (and the server set to it)."""
    profile = holder.current.bundle.profile
    exact = profile.reports
    release = build_reports(
        dataset.until(profile.cutoff),
        profile.personas.tags,
        profile.segments,
        profile.config.reports,
        dp=PlannerDp(1.0, b"serving test key", "test-version"),
    )
    monkeypatch.setenv(EPSILON_SETTING, "1.0")
    monkeypatch.setenv(KEY_SETTING, "serving test key")
    object.__setattr__(profile, "reports", release)  # the profile is frozen; put back below
    try:
        yield release
    finally:
        object.__setattr__(profile, "reports", exact)


def test_exact_tables_say_so(client: TestClient) -> None:
    assert client.get("/segments", headers=PLANNER).json()["dp_epsilon"] is None
    body = client.get("/planner/data", params={"level": "district", "id": "D01"}, headers=PLANNER).json()
    assert body["dp_epsilon"] is None and body["dp_note"] is None


def test_a_private_server_refuses_exact_tables(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EPSILON_SETTING, "0.5")
    for path, params in (("/segments", {}), ("/planner/data", {"level": "district", "id": "D01"})):
        response = client.get(path, params=params, headers=PLANNER)
        assert response.status_code == 503 and EPSILON_SETTING in response.text
    monkeypatch.setenv(EPSILON_SETTING, "zero")
    response = client.get("/segments", headers=PLANNER)
    assert response.status_code == 503 and EPSILON_SETTING in response.text


def test_the_release_is_served_with_its_epsilon(client: TestClient, private_report: SegmentReport) -> None:
    segments = client.get("/segments", params={"level": "district"}, headers=PLANNER).json()
    assert segments["dp_epsilon"] == 1.0
    shown = {row["id"]: row["residents"] for row in segments["data"]}
    assert shown == private_report.district["residents"].to_dict()
    body = client.get("/planner/data", params={"level": "district", "id": "D01"}, headers=PLANNER).json()
    assert body["dp_epsilon"] == 1.0 and "差分隐私" in body["dp_note"] and "Differential privacy" in body["dp_note"]
    assert body["requests"] == [] and body["requests_monthly"] == [] and "差分隐私" in body["requests_note"]
    assert all(row["uses"] is None and row["mean_rating"] is None for row in body["usage"])
    totals = private_report.privacy["segment_totals"]  # type: ignore[index]
    for segment in body["segments"]:
        assert segment["residents"] == (totals[segment["segment"]] if totals[segment["segment"]] >= 10 else "<10")


def test_the_page_states_differential_privacy_in_chinese_first() -> None:
    from importlib import resources

    script = resources.files("serving.planner").joinpath("static", "planner.js").read_text(encoding="utf-8")
    page = resources.files("serving.planner").joinpath("static", "index.html").read_text(encoding="utf-8")
    assert 'id="privacy"' in page
    assert script.index("差分隐私 ε = ${e}") < script.index("Differential privacy ε = ${e}")
    assert "state.epsilon = body.dp_epsilon" in script
