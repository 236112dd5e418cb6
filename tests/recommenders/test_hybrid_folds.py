"""The one hybrid with stratified-fold labels (randomly split rating data): the shared contract, and what the
published-protocol benchmark relies on — held-out ratings as labels, rank-share bagging, no rated film listed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.movielens_bench import load_config, with_tuned_generators
from features.columns import Columns as C
from recommenders.base import Recommender
from recommenders.hybrid import HybridConfig, HybridRecommender
from recommenders.label_strategies import StratifiedFoldLabels, label_stages, stratified_folds
from recommenders.ranker import RankerConfig
from recommenders.testing import RecommenderContract
from tests.training.test_benchmark_protocol import dataset_of, ratings
from training import benchmark_protocol as bp

SMALL_RANKER = RankerConfig(n_estimators=15, early_stopping_rounds=5, n_jobs=1)
FOLDS = HybridConfig(generators={"popular": {}, "ease": {"regularization": 20.0}}, candidates_per_generator=10,
                     labels=StratifiedFoldLabels(folds=3), generator_features=("rank", "relative"),
                     count_generators=True, monotone_generators=True, ranker=SMALL_RANKER, ranker_bags=3,
                     bag_combination="rank_share", seed=5, repeat={"policy": "never_repeat"})


class TestHybridWithFoldLabels(RecommenderContract):
    """The fold-label configuration keeps the contract on the synthetic community too."""

    def make_model(self) -> Recommender:
        return HybridRecommender(FOLDS.model_copy(update={"ranker_bags": 2, "repeat": FOLDS.repeat.model_copy(
            update={"policy": "auto"})}))


def test_every_rating_is_a_label_in_exactly_one_fold() -> None:
    train = dataset_of(ratings(n_residents=40, n_services=20, n_ratings=500))
    stages = list(label_stages(StratifiedFoldLabels(folds=4), train, train.history_end(), seed=3))
    held = pd.concat([s.labels for s in stages])
    assert len(stages) == 4 and (held["relevance"] == 1).all()
    every = train.interactions[[C.RESIDENT, C.SERVICE]].astype(str).drop_duplicates()
    assert len(held) == len(every) and not held.duplicated([C.RESIDENT, C.SERVICE]).any()
    for stage in stages:  # a fold's labels are never in the history its parts are fitted on
        seen = stage.history.interactions[[C.RESIDENT, C.SERVICE]].astype(str)
        assert stage.labels.merge(seen, on=[C.RESIDENT, C.SERVICE]).empty
    assert [len(f[1]) for f in stratified_folds(train, 4, 3)] == [len(f[1]) for f in bp.stratified_folds(train, 4, 3)]


def test_bagged_rank_shares_and_never_a_rated_service() -> None:
    train = dataset_of(ratings(n_residents=60, n_services=30, n_ratings=700))
    hybrid = HybridRecommender(FOLDS)
    rows = hybrid.training_rows(train)
    assert set(rows.relevance) == {0, 1} and rows.stages == 3 and 0.0 < rows.recall <= 1.0
    hybrid.fit_ranker(rows, train)
    assert [r.seed for r in hybrid.ranker_.rankers_] == [5, 6, 7]
    assert hybrid.ranker_.rankers_[0].config.monotone == {"popular_rank": -1, "popular_relative": 1,
                                                          "ease_rank": -1, "ease_relative": 1}
    residents = np.arange(len(train.resident_ids))
    features, cand_rows, _ = hybrid._candidate_blocks(residents, train.resident_ids.to_external(residents))
    assert {"n_generators", "ease_rank", "ease_relative"} <= set(features.columns)
    bagged = hybrid.ranker_.score(features, cand_rows)
    shares = [pd.Series(r.predict(features)).groupby(cand_rows).rank(pct=True) for r in hybrid.ranker_.rankers_]
    np.testing.assert_allclose(bagged, np.mean(shares, axis=0))
    scores = hybrid.score_matrix(residents)
    assert np.isneginf(scores[bp.seen_matrix(train).nonzero()]).all()
    assert np.isfinite(scores).sum(axis=1).min() >= 10  # every resident gets at least one generator's list


def test_the_benchmark_config_is_the_shipped_class_configured_by_toml() -> None:
    config = with_tuned_generators(load_config(), {"ease": {"regularization": 250.0}}, seed=1)
    assert isinstance(config.labels, StratifiedFoldLabels) and config.bag_combination == "rank_share"
    assert config.generators["ease"] == {"regularization": 250.0} and config.seed == 1
    assert HybridRecommender(config).name == "hybrid"
