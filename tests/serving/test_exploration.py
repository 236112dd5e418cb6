"""Exploration: a share of lists shows one service from just past the list, and every shown service is logged
with the probability that the policy showed it (what off-policy estimates of a new model rely on)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from serving.app import create_app
from serving.exploration import EXPLORED_EN, Exploration
from serving.model_holder import ModelHolder
from serving.store import FeedbackStore
from tests.serving.conftest import Registry, TestClient, headers, make_settings
from training.batch_lists import LIST_K

PLATFORM = headers("platform")


def test_the_share_of_explored_lists_is_the_rate() -> None:
    policy = Exploration(rate=0.2, depth=10)
    chosen = [policy.chosen(f"request-{i}") for i in range(20_000)]
    assert 0.19 < sum(chosen) / len(chosen) < 0.21
    assert chosen[:50] == [policy.chosen(f"request-{i}") for i in range(50)]  # a fixed function of the id
    assert not any(Exploration(0.0, 10).chosen(f"request-{i}") for i in range(1000))


def test_an_explored_list_swaps_its_last_place_for_one_of_the_next_services(holder: ModelHolder) -> None:
    model, resident, k, depth = holder.current, "R0000003", 5, 8
    picks = model.recommend([resident], k)[0][0]
    following = [p.service for p in model.recommend([resident], k + depth)[0][0]][k:]
    always = Exploration(rate=1.0, depth=depth)
    shown, propensities = always.apply(model, resident, picks, k, None, "request-1")
    assert shown[:-1] == picks[:-1] and propensities[:-1] == [1.0] * (k - 1)
    assert shown[-1].service in following and shown[-1].service not in {p.service for p in picks}
    assert propensities[-1] == pytest.approx(1.0 / len(following))
    assert shown[-1].explanation.startswith(EXPLORED_EN)
    assert always.apply(model, resident, picks, k, None, "request-1") == (shown, propensities)  # re-derivable
    draws = {always.apply(model, resident, picks, k, None, f"request-{i}")[0][-1].service for i in range(60)}
    assert len(draws) > 3  # the draw is spread over the pool


def test_the_pool_is_precomputed_with_the_lists_and_ranked_as_the_model_ranks(holder: ModelHolder) -> None:
    model, k = holder.current, LIST_K
    depth = model.lists.depth
    assert depth == holder.settings.exploration_depth
    residents = [str(r) for r in model.bundle.resident_ids()[:20]]
    pooled = model.recommend(residents, k + depth, pool=True)  # from the precomputed lists
    fresh = model.recommend(residents, k + depth)  # beyond the explained length: ranked now by the bundle
    for (cached, _), (ranked, _) in zip(pooled, fresh, strict=True):
        assert [p.service for p in cached] == [p.service for p in ranked]
        assert cached[:k] == ranked[:k]  # the list itself keeps its full explanations
        tail = [p for p in cached if p not in ranked[:k]]
        assert tail and not any("key factors" in p.explanation for p in tail)  # reasons only: no contributions
    assert any("key factors" in p.explanation for p in fresh[0][0][k:])


def test_an_unexplored_list_logs_its_last_place_as_not_certain(holder: ModelHolder) -> None:
    model = holder.current
    picks = model.recommend(["R0000003"], 5)[0][0]
    rare = Exploration(rate=0.1, depth=10)
    request = next(f"r{i}" for i in range(100) if not rare.chosen(f"r{i}"))
    shown, propensities = rare.apply(model, "R0000003", picks, 5, None, request)
    assert shown == picks and propensities == [1.0, 1.0, 1.0, 1.0, pytest.approx(0.9)]
    assert Exploration(0.0, 10).apply(model, "R0000003", picks, 5, None, request) == (picks, [1.0] * 5)
    short = picks[:3]  # fewer services than asked fit: nothing to explore, everything certain
    assert rare.apply(model, "R0000003", short, 5, None, request) == (short, [1.0] * 3)


def test_the_api_logs_each_shown_service_with_its_propensity(registry: Registry, tmp_path: Path,
                                                            holder: ModelHolder) -> None:
    settings = make_settings(registry, tmp_path, exploration_rate=0.5, exploration_depth=6)
    with TestClient(create_app(settings, holder=holder)) as client:
        for i in range(1, 41):
            assert client.get(f"/recommendations/R{i:07d}?k=4", headers=PLATFORM).status_code == 200
        cold = {"residents": ["NEW1"], "k": 4, "profiles": [{"resident_id": "NEW1", "community_id": "C0101",
                                                             "birth_year": 1950}]}
        assert client.post("/recommendations", headers=PLATFORM, json=cold).status_code == 200
    served = FeedbackStore(settings.store_url()).served()
    known = served[served["resident_id"] != "NEW1"]
    last = known[known["position"] == 4]["propensity"]
    assert (known[known["position"] < 4]["propensity"] == 1.0).all()
    explored = last[last < 0.5]
    assert 8 <= len(explored) <= 32
    pools = [round(0.5 / p) for p in explored]  # rate / m, m = the services past the list that fit (at most 6)
    assert all(1 <= m <= 6 for m in pools) and explored.tolist() == pytest.approx([0.5 / m for m in pools])
    assert sum(m == 6 for m in pools) > len(pools) / 2
    assert (last[last >= 0.5] == 0.5).all()
    assert (served[served["resident_id"] == "NEW1"]["propensity"] == 1.0).all()  # cold start is not explored


def test_a_store_made_before_propensities_gains_the_column_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE served_lists (request_id VARCHAR(64) PRIMARY KEY, resident_id VARCHAR(64) NOT NULL,
                model_version VARCHAR(64) NOT NULL, variant VARCHAR(64) NOT NULL, served_at DATETIME NOT NULL);
            CREATE TABLE served_items (request_id VARCHAR(64) REFERENCES served_lists (request_id),
                position INTEGER, service_id VARCHAR(64) NOT NULL, score FLOAT NOT NULL,
                PRIMARY KEY (request_id, position));
            INSERT INTO served_lists VALUES ('q1', 'R1', '1', 'champion', '2026-11-01 08:00:00');
            INSERT INTO served_items VALUES ('q1', 1, 'S001', 0.5);
        """)
    store = FeedbackStore(f"sqlite:///{path}")
    store.create_schema()
    store.create_schema()  # idempotent
    served = store.served()
    assert served[["request_id", "service_id"]].values.tolist() == [["q1", "S001"]]
    assert served["propensity"].isna().all()
