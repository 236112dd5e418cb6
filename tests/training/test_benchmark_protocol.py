"""The published MovieLens protocol: split in file order, validation and folds from train only, seen-item
removal and the metrics, on hand-made data (and on MovieLens-100K when it is cached or downloadable)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from features.sources.movielens import SOURCE_ROW, load_recbole
from recommenders.ease import EASERecommender
from tests.movielens_data import movielens_folder
from training import benchmark_protocol as bp
from training.splits import stratified_split


def ratings(n_residents: int = 30, n_services: int = 25, n_ratings: int = 400, seed: int = 0) -> pd.DataFrame:
    """Unique random (resident, service) ratings in a random "file" order, with their file row."""
    rng = np.random.default_rng(seed)
    pairs = rng.choice(n_residents * n_services, n_ratings, replace=False)
    return pd.DataFrame({
        C.RESIDENT: [f"u{p // n_services}" for p in pairs], C.SERVICE: [f"m{p % n_services}" for p in pairs],
        C.TIMESTAMP: pd.Timestamp("1997-09-20") + pd.to_timedelta(rng.integers(0, 200 * 86400, n_ratings), "s"),
        C.EVENT: "rate", C.RATING: rng.integers(1, 6, n_ratings).astype(float),
        SOURCE_ROW: np.arange(n_ratings)})


def dataset_of(frame: pd.DataFrame) -> Dataset:
    residents = pd.DataFrame({C.RESIDENT: sorted(frame[C.RESIDENT].unique()), C.COMMUNITY: "c1",
                              C.BIRTH_YEAR: 1970, C.HOUSEHOLD_SIZE: None, C.CHILDREN: None, C.EMPLOYMENT: "employed",
                              C.RESIDENCY: None})
    communities = pd.DataFrame({C.COMMUNITY: ["c1"], C.COMMUNITY_NAME: ["一"], C.STREET: ["s1"], C.DISTRICT: ["d1"]})
    services = pd.DataFrame({C.SERVICE: sorted(frame[C.SERVICE].unique()), C.CATEGORY: "Drama;Comedy",
                             C.NAME_ZH: "电影", C.CHANNEL: "online"})
    return Dataset.from_frames(residents, communities, services, frame)


def pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame[C.RESIDENT], frame[C.SERVICE], strict=True))


def test_split_follows_file_order_not_time_order() -> None:
    raw = ratings()
    dataset = dataset_of(raw)  # the dataset keeps its interactions in time order
    assert not dataset.interactions[SOURCE_ROW].is_monotonic_increasing
    train, test = bp.split(dataset, seed=42)
    expected_train, expected_test = stratified_split(raw, 0.75, 42)  # the published splitter on the file
    assert set(train.interactions[SOURCE_ROW]) == set(expected_train[SOURCE_ROW])
    assert set(test[SOURCE_ROW]) == set(expected_test[SOURCE_ROW])
    sizes = raw.groupby(C.SERVICE).size()
    in_train = train.interactions.groupby(C.SERVICE).size().reindex(sizes.index, fill_value=0)
    assert (in_train == np.round(0.75 * sizes)).all()  # 75 % of every movie's ratings


def test_validation_and_folds_come_from_train_only() -> None:
    dataset = dataset_of(ratings(seed=1))
    train, test = bp.split(dataset, seed=1)
    inner, validation = bp.validation_split(train, seed=1)
    assert pairs(inner.interactions) | pairs(validation) == pairs(train.interactions)
    assert not pairs(validation) & pairs(test) and not pairs(inner.interactions) & pairs(validation)
    folds = bp.stratified_folds(train, 4, seed=1)
    held_out = [pairs(labels) for _, labels in folds]
    assert set().union(*held_out) == pairs(train.interactions)
    assert sum(map(len, held_out)) == len(train.interactions)  # each rating held out exactly once
    for rest, labels in folds:
        assert not pairs(rest.interactions) & pairs(labels)
    per_fold = pd.concat([labels.assign(fold=i) for i, (_, labels) in enumerate(folds)])
    counts = per_fold.groupby([C.SERVICE, "fold"]).size().unstack(fill_value=0)
    assert (counts.max(axis=1) - counts.min(axis=1) <= 1).all()  # stratified per movie


def test_services_rated_in_train_are_never_recommended() -> None:
    dataset = dataset_of(ratings(seed=2))
    train, test = bp.split(dataset, seed=2)
    residents = bp.residents_to_rank(train, test)
    model = EASERecommender(regularization=10.0, self_weight=1.0).fit(train)  # self_weight favours seen ones
    lists = bp.unseen_top_k(train, residents, model.score_matrix(residents), k=10)
    assert len(lists) == 10 * len(residents)
    assert not pairs(lists) & pairs(train.interactions)


def test_metrics_match_a_hand_computed_example() -> None:
    lists = pd.DataFrame({C.RESIDENT: ["a", "a", "a", "b", "b"], C.SERVICE: ["s1", "s2", "s3", "s4", "s2"],
                          "rank": [1, 2, 3, 1, 2]})
    test = pd.DataFrame({C.RESIDENT: ["a", "a", "b", "c"], C.SERVICE: ["s1", "s3", "s2", "s9"]})
    scores = bp.evaluate(lists, test, k=3)
    # a: hits at 1 and 3 of 2 relevant; b: a hit at 2 of 1 relevant; c has no list (not averaged)
    ndcg_a = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3))
    ndcg_b = 1 / np.log2(3)
    assert scores["ndcg@3"] == pytest.approx((ndcg_a + ndcg_b) / 2)
    assert scores["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert scores["recall@3"] == pytest.approx(1.0)
    assert scores["map"] == pytest.approx(((1 + 2 / 3) / 2 + 1 / 2) / 2)


def test_published_protocol_on_movielens_100k() -> None:
    dataset = load_recbole(movielens_folder())
    train, test = bp.split(dataset, seed=42)
    assert (len(train.interactions), len(test)) == (75_066, 24_934)
    residents = bp.residents_to_rank(train, test)
    model = EASERecommender(regularization=500.0).fit(train)
    lists = bp.unseen_top_k(train, residents, model.score_matrix(residents))
    assert not pairs(lists) & pairs(train.interactions)
    scores = bp.evaluate(lists, test)
    assert 0.45 < scores["ndcg@10"] < 0.52  # EASE reaches the published state of the art on this protocol
    assert scores["precision@10"] > 0.38
