"""EASE: the shared contract, and the closed form equals a ridge regression of each service on the others."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.dataset import Dataset
from recommenders.base import Recommender
from recommenders.ease import EASERecommender, ease_weights
from recommenders.testing import RecommenderContract


class TestEASE(RecommenderContract):
    min_ndcg_lift_over_random = 4.0
    min_ndcg_lift_over_popular = 1.5
    learns_from_co_use = True

    def make_model(self) -> Recommender:
        return EASERecommender()


def test_closed_form_is_ridge_regression_on_the_other_services() -> None:
    rng = np.random.default_rng(3)
    x = (rng.random((60, 6)) < 0.3).astype(float)
    lam = 2.5
    weights = ease_weights(x, lam)
    assert np.allclose(np.diag(weights), 0.0)
    for j in range(6):
        others = np.delete(np.arange(6), j)
        a = x[:, others]
        ridge = np.linalg.solve(a.T @ a + lam * np.eye(5), a.T @ x[:, j])
        assert np.allclose(weights[others, j], ridge)


def test_self_weight_adds_the_residents_own_history(dataset: Dataset) -> None:
    cutoff = pd.Timestamp("2026-10-01")
    plain = EASERecommender(self_weight=0.0).fit(dataset, cutoff)
    repeat = EASERecommender(self_weight=1.0).fit(dataset, cutoff)
    residents = np.arange(50)
    used = (plain.history_[residents] > 0).toarray()
    listed = ~plain.repeat_.blocked(residents)  # consumed one-off services score -inf in both
    assert listed.mean() > 0.9
    difference = repeat.score_matrix(residents) - plain.score_matrix(residents)
    assert np.allclose(difference[listed], used[listed])
