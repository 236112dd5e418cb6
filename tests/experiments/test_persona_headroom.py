"""Ranking by latent type alone: below the ceiling, above a fitted popularity, under the ceiling's rules."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from experiments.persona_headroom import TypeOracleRanking, hybrid_ratios, persona_ratios
from experiments.true_preference_ranking import TruePreferenceRanking
from features.dataset import Dataset
from features.sources.synthetic import SyntheticCommunity
from recommenders.popular import PopularRecommender
from training.config import TrainConfig
from training.evaluation import EvaluationWindow
from training.splits import time_split


@pytest.fixture(scope="module")
def window(dataset: Dataset) -> EvaluationWindow:
    return EvaluationWindow.build(dataset, time_split(dataset, test_weeks=4, validation_weeks=0), 10, 7)


def test_the_type_oracle_ranks_only_what_the_ceiling_may_rank(community: SyntheticCommunity,
                                                               window: EvaluationWindow) -> None:
    cutoff = window.split.test_start
    ceiling, oracle = TruePreferenceRanking(community, cutoff), TypeOracleRanking(community, cutoff)
    np.testing.assert_array_equal(np.isfinite(oracle.scores_), np.isfinite(ceiling.scores_))
    assert not np.array_equal(oracle.scores_, ceiling.scores_)  # it lacks the personal part


def test_types_alone_fall_between_popularity_and_the_ceiling(community: SyntheticCommunity, dataset: Dataset,
                                                              window: EvaluationWindow) -> None:
    cutoff = window.split.test_start
    ceiling = TruePreferenceRanking(community, cutoff).recommend(window.residents, window.k)
    oracle = TypeOracleRanking(community, cutoff).recommend(window.residents, window.k)
    popular = PopularRecommender().fit(dataset, window.split.train_until).recommend(window.residents, window.k)
    assert window.score_lists(popular)["ndcg@10"] < window.score_lists(oracle)["ndcg@10"]
    assert window.score_lists(oracle)["ndcg@10"] < window.score_lists(ceiling)["ndcg@10"]
    ratios = persona_ratios(window, oracle, ceiling)
    assert set(ratios) == set(window.personas.columns[window.personas.any()])
    assert all(0 < r < 1 for r in ratios.values())
    assert persona_ratios(window, ceiling, ceiling) == dict.fromkeys(ratios, 1.0)


def test_the_hybrid_probe_applies_its_settings_and_scores_every_persona(community: SyntheticCommunity,
                                                                         dataset: Dataset,
                                                                         window: EvaluationWindow) -> None:
    ceiling = TruePreferenceRanking(community, window.split.test_start).recommend(window.residents, window.k)
    config = TrainConfig().with_seed(7)
    probe = hybrid_ratios(dataset, window.split, window, ceiling, config, {"label_windows": 2})
    assert probe["ndcg"] > window.score_lists(
        PopularRecommender().fit(dataset, window.split.train_until).recommend(window.residents, window.k))["ndcg@10"]
    assert set(probe["over_ceiling"]) == set(persona_ratios(window, ceiling, ceiling))
    with pytest.raises(ValidationError, match="label_windows"):
        hybrid_ratios(dataset, window.split, window, ceiling, config, {"label_windows": 0})
