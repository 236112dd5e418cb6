"""The synthetic benchmark's ceiling: ranking by the generator's hidden true scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.true_preference_ranking import HELD_EVENTS, TruePreferenceRanking
from features.columns import Columns as C
from features.dataset import Dataset
from features.sources.synthetic import SyntheticCommunity
from recommenders.popular import PopularRecommender
from training.evaluation import EvaluationWindow
from training.splits import time_split


@pytest.fixture(scope="module")
def window(dataset: Dataset) -> EvaluationWindow:
    return EvaluationWindow.build(dataset, time_split(dataset, test_weeks=4, validation_weeks=0), 10, 7)


def test_ranking_by_true_scores_beats_a_fitted_model(community: SyntheticCommunity, dataset: Dataset,
                                                     window: EvaluationWindow) -> None:
    ceiling = window.score(TruePreferenceRanking(community, window.split.test_start))
    popular = window.score(PopularRecommender().fit(dataset, window.split.train_until))
    assert ceiling["ndcg@10"] > 1.5 * popular["ndcg@10"]
    assert set(ceiling["per_persona_ndcg@10"]) == set(popular["per_persona_ndcg@10"])


def test_lists_hold_only_services_the_rules_would_allow(community: SyntheticCommunity,
                                                        window: EvaluationWindow) -> None:
    cutoff = window.split.test_start
    ranking = TruePreferenceRanking(community, cutoff)
    lists = ranking.recommend(window.residents[:500], k=10)
    truth = community.truth.set_index(C.RESIDENT)["true_scores"]
    services = community.frames["services"]
    position = pd.Index(services[C.SERVICE].astype(str))
    true = [truth[r][position.get_loc(s)] for r, s in zip(lists[C.RESIDENT], lists[C.SERVICE], strict=True)]
    assert np.isfinite(true).all(), "never a service the resident is not eligible for or not offered"
    events = community.frames["interactions"]
    one_off = services.loc[services[C.ONE_OFF].fillna(False).astype(bool), C.SERVICE].astype(str)
    held = events[(events[C.TIMESTAMP] < cutoff) & events[C.EVENT].astype(str).isin(HELD_EVENTS)
                  & events[C.SERVICE].astype(str).isin(one_off)]
    pairs = set(zip(held[C.RESIDENT].astype(str), held[C.SERVICE].astype(str), strict=True))
    shown = set(zip(lists[C.RESIDENT].astype(str), lists[C.SERVICE].astype(str), strict=True))
    assert pairs and not pairs & shown, "a permit already held is not ranked again"
    first = lists[lists[C.RESIDENT] == lists[C.RESIDENT].iloc[0]]
    assert first["score"].is_monotonic_decreasing and first["rank"].tolist() == list(range(1, len(first) + 1))


def test_unknown_resident_is_a_clear_error(community: SyntheticCommunity, window: EvaluationWindow) -> None:
    with pytest.raises(KeyError, match="NOBODY"):
        TruePreferenceRanking(community, window.split.test_start).recommend(["NOBODY"], k=5)
