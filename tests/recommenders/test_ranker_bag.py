"""A bag of LambdaRank rankers: averaged scores, exact explanations, a single ranker when bags = 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommenders.errors import NotFittedError
from recommenders.ranker import LambdaRanker, RankerConfig
from recommenders.ranker_bag import RankerBag

CONFIG = RankerConfig(n_estimators=30)


def _problem(n_residents: int, per: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame({"signal": rng.random(n_residents * per), "noise": rng.random(n_residents * per)})
    residents = np.repeat(np.arange(n_residents), per)
    noisy = features["signal"] + rng.normal(0, 0.3, len(features))  # labels carry noise a single ranker fits
    relevance = (pd.Series(-noisy).groupby(residents).rank().to_numpy() <= 2).astype(int)
    return features, relevance, residents


def test_one_bag_is_exactly_one_ranker() -> None:
    features, relevance, residents = _problem(200, 8, seed=0)
    bag = RankerBag(CONFIG, bags=1, seed=4).fit(features, relevance, residents)
    single = LambdaRanker(CONFIG, seed=4).fit(features, relevance, residents)
    assert np.array_equal(bag.predict(features), single.predict(features))


def test_bag_averages_rankers_with_consecutive_seeds() -> None:
    features, relevance, residents = _problem(200, 8, seed=1)
    bag = RankerBag(CONFIG, bags=3, seed=7).fit(features, relevance, residents)
    assert [r.seed for r in bag.rankers_] == [7, 8, 9]
    members = [r.predict(features) for r in bag.rankers_]
    assert not np.array_equal(members[0], members[1])  # different subsamples: the bag is not three copies
    assert np.allclose(bag.predict(features), np.mean(members, axis=0))
    shares = bag.rank_shares(features, residents)
    assert shares.min() > 0 and shares.max() == 1.0
    assert bag.get_params()["ranker.bags"] == 3


def test_explanations_of_a_bag_add_up_to_its_score() -> None:
    features, relevance, residents = _problem(200, 8, seed=2)
    bag = RankerBag(CONFIG, bags=3, seed=0).fit(features, relevance, residents)
    rows = features.iloc[:20]
    bias = np.mean([np.asarray(r.model_.predict(rows, num_iteration=r.best_iteration_, pred_contrib=True))[:, -1]
                    for r in bag.rankers_], axis=0)
    assert np.allclose(bag.contributions(rows).sum(axis=1).to_numpy() + bias, bag.predict(rows))
    assert bag.feature_importance().index[0] == "signal"


def test_bad_bag_count_and_use_before_fit_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="bags must be"):
        RankerBag(CONFIG, bags=0)
    with pytest.raises(NotFittedError):
        RankerBag(CONFIG, bags=2).predict(pd.DataFrame({"signal": [0.1]}))


def test_the_combination_is_configuration() -> None:
    features, relevance, residents = _problem(120, 6, seed=2)
    mean = RankerBag(CONFIG, bags=2, seed=1).fit(features, relevance, residents)
    share = RankerBag(CONFIG, bags=2, seed=1, combination="rank_share").fit(features, relevance, residents)
    assert np.array_equal(mean.score(features, residents), mean.predict(features))
    shares = share.score(features, residents)
    assert np.array_equal(shares, share.rank_shares(features, residents)) and ((shares > 0) & (shares <= 1)).all()
    assert share.get_params()["ranker.combination"] == "rank_share"
    with pytest.raises(ValueError, match="combination"):
        RankerBag(CONFIG, bags=2, combination="median")  # type: ignore[arg-type]
