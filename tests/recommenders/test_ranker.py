"""The LambdaRank ranker: groups per resident, learning a known ordering, contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommenders.errors import NotFittedError
from recommenders.ranker import LambdaRanker, RankerConfig, group_sizes


def test_group_sizes_follow_resident_runs() -> None:
    assert group_sizes(np.array([0, 0, 0, 2, 2, 5])).tolist() == [3, 2, 1]
    assert group_sizes(np.array([], dtype=np.int64)).tolist() == []
    with pytest.raises(ValueError, match="sorted by resident"):
        group_sizes(np.array([1, 1, 0]))


def _known_problem(n_residents: int, per: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.random(n_residents * per)
    noise = rng.random(n_residents * per)
    residents = np.repeat(np.arange(n_residents), per)
    rank_in_group = pd.Series(-signal).groupby(residents).rank().to_numpy()
    relevance = (rank_in_group <= 2).astype(int)  # the two highest-signal candidates are relevant
    return pd.DataFrame({"signal": signal, "noise": noise}), relevance, residents


def test_ranker_learns_which_feature_orders_candidates() -> None:
    features, relevance, residents = _known_problem(400, 10, seed=0)
    ranker = LambdaRanker(RankerConfig(n_estimators=50), seed=0).fit(features, relevance, residents)
    test_features, test_relevance, test_residents = _known_problem(200, 10, seed=1)
    scores = ranker.predict(test_features)
    top = pd.DataFrame({"r": test_residents, "s": scores, "rel": test_relevance})
    best = top.sort_values(["r", "s"], ascending=[True, False]).groupby("r").head(2)
    assert best["rel"].mean() > 0.9  # random order would give 0.2
    importance = ranker.feature_importance()
    assert importance.index[0] == "signal"
    contributions = ranker.contributions(test_features.iloc[:5])
    assert contributions.shape == (5, 2)
    assert (contributions["signal"].abs() > contributions["noise"].abs()).all()


def test_ranker_is_reproducible_and_refuses_use_before_fit() -> None:
    features, relevance, residents = _known_problem(100, 8, seed=3)
    a = LambdaRanker(RankerConfig(n_estimators=20), seed=5).fit(features, relevance, residents).predict(features)
    b = LambdaRanker(RankerConfig(n_estimators=20), seed=5).fit(features, relevance, residents).predict(features)
    assert np.array_equal(a, b)
    with pytest.raises(NotFittedError):
        LambdaRanker().predict(features)
