"""Global popularity: the shared contract, one list for everyone, and recency decay."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.base import Recommender
from recommenders.interactions import recency_decay
from recommenders.popular import PopularRecommender
from recommenders.testing import RecommenderContract


class TestPopular(RecommenderContract):
    min_ndcg_lift_over_random = 2.5

    def make_model(self) -> Recommender:
        return PopularRecommender()


def test_everyone_gets_the_most_used_services(dataset: Dataset) -> None:
    model = PopularRecommender(recency="all", seen="keep").fit(dataset)
    ids = dataset.resident_ids.external.to_numpy()[:20]
    out = model.recommend(ids, k=3)
    lists = out.groupby(C.RESIDENT)[C.SERVICE].apply(tuple)
    assert lists.nunique() == 1
    assert np.isclose(model.popularity_.sum(), 1.0)
    heaviest = dataset.service_ids.external[np.argsort(-model.history_.sum(axis=0).A1, kind="stable")[:3]]
    assert list(lists.iloc[0]) == list(heaviest)


def _two_services(dataset: Dataset) -> Dataset:
    """Service 0 used often three months ago, service 1 a little last week (timestamps relative to Oct 31)."""
    residents = dataset.resident_ids.external.to_numpy()
    services = dataset.service_ids.external.to_numpy()[:2]
    old = pd.DataFrame({C.RESIDENT: residents[:30], C.SERVICE: services[0],
                        C.TIMESTAMP: pd.Timestamp("2026-08-01 10:00")})
    new = pd.DataFrame({C.RESIDENT: residents[30:40], C.SERVICE: services[1],
                        C.TIMESTAMP: pd.Timestamp("2026-10-25 10:00")})
    events = pd.concat([old, new]).assign(**{C.EVENT: "use", C.RATING: np.nan, C.CHANNEL: "offline",
                                             C.COMMENT: pd.NA})
    events = events.astype(dataset.interactions.dtypes.to_dict()).reset_index(drop=True)
    return dataclasses.replace(dataset, interactions=events)


def test_recency_decay_lets_recent_interest_win(dataset: Dataset) -> None:
    small = _two_services(dataset)
    cutoff = pd.Timestamp("2026-11-01")
    first = small.service_ids.external[0]
    second = small.service_ids.external[1]
    resident = [small.resident_ids.external[0]]
    assert PopularRecommender(recency="all").fit(small, cutoff).recommend(resident, k=1)[C.SERVICE].item() == first
    decayed = PopularRecommender(half_life_days=7).fit(small, cutoff)
    assert decayed.recommend(resident, k=1)[C.SERVICE].item() == second


def test_recency_decay_halves_per_half_life() -> None:
    stamps = pd.Series(pd.to_datetime(["2026-10-31", "2026-10-24", "2026-10-17", "2026-11-02"]))
    decay = recency_decay(stamps, half_life_days=7, now=pd.Timestamp("2026-10-31"))
    assert np.allclose(decay, [1.0, 0.5, 0.25, 1.0])
