"""Item-kNN: the shared contract, pruned neighbourhoods and the repeat-use option."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.dataset import Dataset
from recommenders.base import Recommender
from recommenders.item_knn import ItemKNNRecommender
from recommenders.testing import RecommenderContract


class TestItemKNN(RecommenderContract):
    min_ndcg_lift_over_random = 4.0
    min_ndcg_lift_over_popular = 1.5
    learns_from_co_use = True

    def make_model(self) -> Recommender:
        return ItemKNNRecommender()


@pytest.mark.parametrize("weighting", ["none", "tfidf", "bm25"])
def test_each_service_keeps_at_most_k_neighbours_and_not_itself(dataset: Dataset, weighting: str) -> None:
    model = ItemKNNRecommender(neighbours=4, weighting=weighting).fit(dataset)
    assert ((model.similarity_ != 0).sum(axis=0) <= 4).all()
    assert np.allclose(np.diag(model.similarity_), 0.0)
    assert (model.similarity_ >= 0).all() and model.similarity_.max() <= 1.0 + 1e-9


def test_self_weight_adds_the_residents_own_history(dataset: Dataset) -> None:
    cutoff = pd.Timestamp("2026-10-01")
    plain = ItemKNNRecommender(self_weight=0.0).fit(dataset, cutoff)
    repeat = ItemKNNRecommender(self_weight=0.5).fit(dataset, cutoff)
    residents = np.arange(50)
    expected = 0.5 * plain.history_[residents].toarray()
    listed = ~plain.repeat_.blocked(residents)  # consumed one-off services score -inf in both
    assert listed.mean() > 0.9
    difference = repeat.score_matrix(residents) - plain.score_matrix(residents)
    assert np.allclose(difference[listed], expected[listed])
