"""ALS through implicit: the shared contract plus its factor shapes."""

from __future__ import annotations

from features.dataset import Dataset
from recommenders.als import ALSRecommender
from recommenders.base import Recommender
from recommenders.testing import RecommenderContract


class TestALS(RecommenderContract):
    min_ndcg_lift_over_random = 4.0
    min_ndcg_lift_over_popular = 1.5
    learns_from_co_use = True

    def make_model(self) -> Recommender:
        return ALSRecommender()


def test_factors_cover_every_resident_and_service(dataset: Dataset) -> None:
    model = ALSRecommender(factors=8, iterations=3).fit(dataset)
    assert model.resident_factors_.shape == (len(dataset.resident_ids), 8)
    assert model.service_factors_.shape == (len(dataset.service_ids), 8)
