"""Adoption (take-up among residents of a persona who had not used a service): the shared contract, the rate
and its denominator, new services only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.adoption import AdoptionRecommender, first_use_matrices
from recommenders.base import Recommender
from recommenders.registry import make_recommender
from recommenders.testing import RecommenderContract, holdout_cutoff


class TestAdoption(RecommenderContract):
    min_ndcg_lift_over_random = 2.0

    def make_model(self) -> Recommender:
        return AdoptionRecommender()


@pytest.fixture(scope="module")
def model(dataset: Dataset) -> AdoptionRecommender:
    return AdoptionRecommender().fit(dataset, holdout_cutoff(dataset))


def test_registered_by_name() -> None:
    assert isinstance(make_recommender("adoption", {"window_days": 14}), AdoptionRecommender)


def test_first_use_matrices_split_each_pair_once(dataset: Dataset) -> None:
    start = holdout_cutoff(dataset) - pd.Timedelta(days=28)
    late, early = first_use_matrices(dataset, start)
    assert late.multiply(early).nnz == 0, "a pair is first consumed either before the start or after it"
    consumed = dataset.interactions[dataset.interactions[C.EVENT].astype(str).isin(["book", "use", "rate"])]
    pairs = consumed.drop_duplicates([C.RESIDENT, C.SERVICE])
    assert late.nnz + early.nnz == len(pairs)


def test_consumed_services_are_never_proposed(dataset: Dataset, model: AdoptionRecommender) -> None:
    residents = np.arange(200)
    scores = model.score_matrix(residents)
    consumed = model.consumed_[residents].toarray()
    assert consumed.any()
    assert np.isneginf(scores[consumed]).all()
    assert np.isfinite(scores[~consumed]).all()


def test_rates_are_take_up_among_those_who_had_not_used_it(dataset: Dataset, model: AdoptionRecommender) -> None:
    cutoff = model.cutoff_
    late, early = first_use_matrices(dataset.until(cutoff), cutoff - pd.Timedelta(days=model.config.window_days))
    expected = np.asarray(late.sum(axis=0)).ravel() / (len(model.resident_ids_) - np.asarray(early.sum(axis=0)).ravel())
    np.testing.assert_allclose(model.popularity_, expected)
    assert ((model.persona_popularity_ >= 0) & (model.persona_popularity_ <= 1)).all()


def test_a_persona_rate_outranks_a_diluted_overall_count(dataset: Dataset, model: AdoptionRecommender) -> None:
    """A resident is scored by the highest rate of their personas, not by the overall rate (the blend's rest)."""
    tagged = np.flatnonzero(model.persona_tags_.any(axis=1))[:50]
    scores = model.score_matrix(tagged)
    best = np.where(model.persona_tags_[tagged][:, :, None], model.persona_popularity_[None], -np.inf).max(axis=1)
    w = model.config.global_weight
    expected = (1 - w) * best + w * model.popularity_[None, :]
    finite = np.isfinite(scores)
    np.testing.assert_allclose(scores[finite], expected[finite])
