"""Side information for rating data: demographics × genre, own taste and time, on a hand-made history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.side_features import SideFeatures

# r1, r2: women in their 20s, active in January; r3, r4: men in their 60s, active in June.
RESIDENTS = pd.DataFrame({C.RESIDENT: ["r1", "r2", "r3", "r4"], C.COMMUNITY: "c1",
                          C.BIRTH_YEAR: [1975, 1976, 1935, 1936], C.HOUSEHOLD_SIZE: None, C.CHILDREN: None,
                          C.EMPLOYMENT: ["student", "student", "retired", "retired"], C.RESIDENCY: None,
                          "gender": ["F", "F", "M", "M"], "occupation": ["student", "student", "retired", "retired"]})
SERVICES = pd.DataFrame({C.SERVICE: ["comedy", "drama", "new"], C.CATEGORY: ["Comedy", "Drama", "Drama;Comedy"],
                         C.NAME_ZH: ["喜剧", "剧情", "新片"], C.CHANNEL: "online", "release_year": [1990, 1950, 1998]})
RATED = [("r1", "comedy", "1998-01-05"), ("r2", "comedy", "1998-01-06"), ("r2", "drama", "1998-01-06"),
         ("r3", "drama", "1998-06-01"), ("r4", "drama", "1998-06-02"), ("r4", "new", "1998-06-03")]


def dataset(residents: pd.DataFrame = RESIDENTS) -> Dataset:
    events = pd.DataFrame(RATED, columns=[C.RESIDENT, C.SERVICE, C.TIMESTAMP]).assign(**{C.EVENT: "rate",
                                                                                         C.RATING: 4.0})
    communities = pd.DataFrame({C.COMMUNITY: ["c1"], C.COMMUNITY_NAME: ["一"], C.STREET: ["s"], C.DISTRICT: ["d"]})
    return Dataset.from_frames(residents, communities, SERVICES, events)


def features_of(data: Dataset, resident: str, service: str) -> pd.Series:
    fitted = SideFeatures(time_kernel=True).fit(data)
    r = data.resident_ids.to_internal([resident])
    s = data.service_ids.to_internal([service])
    return fitted.pairs(r, s).iloc[0]


def test_own_taste_matches_the_genres_of_the_service() -> None:
    data = dataset()
    assert features_of(data, "r1", "comedy")["taste_match"] == pytest.approx(1.0)  # r1 rated only comedy
    assert features_of(data, "r1", "drama")["taste_match"] == pytest.approx(0.0)
    assert features_of(data, "r1", "new")["taste_match"] == pytest.approx(0.5)  # half comedy


def test_a_service_chosen_inside_the_segment_gets_a_lift_above_one() -> None:
    data = dataset()
    # gender is segment 0: comedy was rated by women only, drama mostly by men
    assert features_of(data, "r1", "comedy")["segment0_lift"] > 1.0 > features_of(data, "r3", "comedy")["segment0_lift"]
    assert features_of(data, "r3", "drama")["segment0_lift"] > features_of(data, "r1", "drama")["segment0_lift"]
    women, men = features_of(data, "r1", "comedy"), features_of(data, "r3", "comedy")
    assert women["segment0_genre_lift"] > men["segment0_genre_lift"]


def test_time_features_see_what_was_popular_while_the_resident_was_active() -> None:
    data = dataset()
    january, june = features_of(data, "r1", "new"), features_of(data, "r3", "new")
    assert january["first_rating_after_last"] > 100  # the new film was first rated months after r1 stopped
    assert june["first_rating_after_last"] < 7  # r3 was still rating that week
    assert june["time_popularity"] > january["time_popularity"]
    assert june["active_share"] > january["active_share"] == 0.0
    assert june["svc_age_when_active"] == pytest.approx(0.0, abs=1.0)


def test_missing_side_information_gives_nan_not_an_error() -> None:
    data = dataset(RESIDENTS.drop(columns=["gender", "occupation"]).assign(**{C.BIRTH_YEAR: None}))
    row = features_of(data, "r1", "comedy")
    assert np.isnan(row["res_gender"]) and np.isnan(row["res_age"]) and np.isnan(row["segment0_lift"])
    assert row["taste_match"] == pytest.approx(1.0)


def test_bagged_hybrid_averages_its_rankers_and_never_recommends_rated_services() -> None:
    from recommenders.ranker import RankerConfig
    from recommenders.side_hybrid import SideHybrid, SideHybridConfig
    from tests.training.test_benchmark_protocol import dataset_of, ratings
    from training import benchmark_protocol as bp

    train = dataset_of(ratings(n_residents=60, n_services=30, n_ratings=700))
    ranker = RankerConfig(n_estimators=15, early_stopping_rounds=5, n_jobs=1, max_bin=63)
    config = SideHybridConfig(generators={"popular": {}, "ease": {"regularization": 20.0}},
                              candidates_per_generator=10, ranker=ranker, bags=3, seed=5)
    hybrid = SideHybrid(config)
    rows = hybrid.training_rows(bp.stratified_folds(train, 3, seed=5))
    assert set(rows.relevance) == {0, 1} and 0.0 < rows.candidate_recall <= 1.0
    hybrid.fit_ranker(rows).refit(train)
    assert [r.seed for r in hybrid.ranker_.rankers_] == [5, 6, 7]
    residents = np.arange(len(train.resident_ids))
    features, cand_rows, _ = hybrid.candidates(residents)
    bagged = hybrid.predict(features, cand_rows)
    shares = [pd.Series(r.predict(features)).groupby(cand_rows).rank(pct=True) for r in hybrid.ranker_.rankers_]
    np.testing.assert_allclose(bagged, np.mean(shares, axis=0))
    assert ((bagged > 0) & (bagged <= 1)).all()
    scores = hybrid.score_matrix(residents)
    assert np.isneginf(scores[bp.seen_matrix(train).nonzero()]).all()
    assert np.isfinite(scores).sum(axis=1).min() >= 10  # every resident gets at least one generator's list
