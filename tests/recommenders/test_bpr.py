"""BPR through implicit: the shared contract plus its notion of a positive pair."""

from __future__ import annotations

import numpy as np

from features.dataset import Dataset
from recommenders.base import Recommender
from recommenders.bpr import BPRRecommender
from recommenders.testing import RecommenderContract


class TestBPR(RecommenderContract):
    min_ndcg_lift_over_random = 4.0
    min_ndcg_lift_over_popular = 1.5
    learns_from_co_use = True

    def make_model(self) -> Recommender:
        return BPRRecommender()


def test_min_weight_decides_what_is_positive(dataset: Dataset) -> None:
    """A higher bar (book or stronger) leaves fewer positive pairs, so the model changes."""
    loose = BPRRecommender(min_weight=0.5, iterations=5).fit(dataset)
    strict = BPRRecommender(min_weight=2.0, iterations=5).fit(dataset)
    assert (loose.history_ >= 0.5).sum() > (strict.history_ >= 2.0).sum()
    assert not np.allclose(loose.service_factors_, strict.service_factors_)
