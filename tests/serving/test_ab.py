"""A/B between champion and challenger: a configurable share of residents, sticky per resident, recorded per
request in the served-list log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.ab import bucket, in_challenger
from serving.app import create_app
from serving.model_holder import ModelHolder
from serving.store import FeedbackStore
from tests.serving.conftest import MODEL, Registry, TestClient, headers, make_settings

PLATFORM, ADMIN = headers("platform"), headers("admin")
RESIDENTS = [f"R{i:07d}" for i in range(1, 201)]


def test_assignment_is_sticky_and_matches_the_share() -> None:
    ids = [f"R{i:07d}" for i in range(20_000)]
    arms = [in_challenger(r, 0.2, "salt") for r in ids]
    assert arms == [in_challenger(r, 0.2, "salt") for r in ids]  # same resident, same arm
    assert 0.19 < sum(arms) / len(ids) < 0.21
    wider = [in_challenger(r, 0.5, "salt") for r in ids]
    assert all(w for a, w in zip(arms, wider, strict=True) if a)  # a ramp-up never moves anyone back
    other_salt = [in_challenger(r, 0.2, "other") for r in ids]
    assert 0.1 < sum(a != o for a, o in zip(arms, other_salt, strict=True)) / len(ids) < 0.5  # a new draw
    assert not any(in_challenger(r, 0.0, "salt") for r in ids[:100])
    assert all(0 <= bucket(r, "salt") < 1 for r in ids[:100])


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        in_challenger("R1", 1.5, "salt")


@pytest.fixture
def ab_registry(registry: Registry) -> Iterator[Registry]:
    """``challenger`` → version 2 (champion stays 1) for the test; removed afterwards."""
    registry.client.set_registered_model_alias(MODEL, "challenger", "2")
    yield registry
    registry.client.delete_registered_model_alias(MODEL, "challenger")


def _ab_client(registry: Registry, tmp_path: Path, share: float) -> TestClient:
    settings = make_settings(registry, tmp_path, challenger_share=share)
    holder = ModelHolder(settings)
    holder.load_all()
    return TestClient(create_app(settings, holder=holder))


def test_residents_get_the_variant_of_their_arm_every_time(ab_registry: Registry, tmp_path: Path) -> None:
    with _ab_client(ab_registry, tmp_path, 0.3) as client:
        seen: dict[str, tuple[str, str]] = {}
        for resident in RESIDENTS:
            body = client.get(f"/recommendations/{resident}", headers=PLATFORM).json()
            seen[resident] = (body["variant"], body["model_version"])
        for resident in RESIDENTS:
            expected = ("challenger", "2") if in_challenger(resident, 0.3, "linli-ab") else ("champion", "1")
            assert seen[resident] == expected
        assert 30 < sum(v == "challenger" for v, _ in seen.values()) < 90
        batch = client.post("/recommendations", headers=PLATFORM, json={"residents": RESIDENTS[:40], "k": 5}).json()
        assert [(x["variant"], x["model_version"]) for x in batch["data"]] == [seen[r] for r in RESIDENTS[:40]]
        logged = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}").served()
        by_list = logged.drop_duplicates("request_id").set_index("request_id")
        assert set(by_list["variant"]) == {"champion", "challenger"}
        assert (by_list["model_version"] == by_list["variant"].map({"champion": "1", "challenger": "2"})).all()
        challenger_lists = by_list[by_list["variant"] == "challenger"].index[:10]
        clicks = [{"request_id": q, "resident_id": by_list.loc[q, "resident_id"], "event": "click",
                   "service_id": logged[logged["request_id"] == q]["service_id"].iloc[0]} for q in challenger_lists]
        assert client.post("/feedback", headers=PLATFORM, json={"events": clicks}).status_code == 201
        models = client.get("/models", headers=ADMIN).json()
        assert models["challenger"]["version"] == "2" and models["ab"]["challenger_share"] == 0.3
        live = {(m["version"], m["variant"]): m for m in models["variants"]}
        assert set(live) == {("1", "champion"), ("2", "challenger")}
        shown = logged.groupby("variant").size()
        assert live["2", "challenger"]["impressions"] == shown["challenger"]
        assert live["2", "challenger"]["ctr"] == pytest.approx(10 / shown["challenger"])
        assert live["2", "challenger"]["ctr_low"] < live["2", "challenger"]["ctr"] < live["2", "challenger"]["ctr_high"]
        assert live["1", "champion"]["ctr"] == 0 and live["1", "champion"]["mean_rating"] is None


def test_without_a_share_the_champion_serves_everyone(ab_registry: Registry, tmp_path: Path) -> None:
    with _ab_client(ab_registry, tmp_path, 0.0) as client:
        variants = {client.get(f"/recommendations/{r}", headers=PLATFORM).json()["variant"] for r in RESIDENTS[:50]}
        assert variants == {"champion"}
        assert client.get("/models", headers=ADMIN).json()["challenger"] is None


def test_a_challenger_alias_on_the_champion_splits_nothing(registry: Registry, tmp_path: Path) -> None:
    registry.client.set_registered_model_alias(MODEL, "challenger", "1")
    try:
        with _ab_client(registry, tmp_path, 0.5) as client:
            variants = {client.get(f"/recommendations/{r}", headers=PLATFORM).json()["variant"]
                        for r in RESIDENTS[:50]}
        assert variants == {"champion"}
    finally:
        registry.client.delete_registered_model_alias(MODEL, "challenger")


def test_a_missing_challenger_leaves_the_champion_serving_everyone(registry: Registry, tmp_path: Path) -> None:
    with _ab_client(registry, tmp_path, 0.5) as client:
        body = client.get("/recommendations/R0000007", headers=PLATFORM).json()
        assert (body["variant"], body["model_version"]) == ("champion", "1")
