"""The rating-catalogue feature families (features/rating_families.py) on a hand-made history: demographics ×
genre, when residents were active, through the feature pipeline as the hybrid computes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from features.feature_registry import FeatureSet
from features.pipeline import FeaturePipeline
from recommenders.hybrid_config import feature_set_path

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
    pipeline = FeaturePipeline(FeatureSet.from_toml(feature_set_path("ratings"))).fit(data, "1998-07-01")
    pair = pd.DataFrame({C.RESIDENT: [resident], C.SERVICE: [service]})
    return pd.concat([pipeline.cross_features(pair).iloc[0], pipeline.resident_features([resident]).iloc[0],
                      pipeline.service_features([service]).iloc[0]])


def test_own_taste_matches_the_genres_of_the_service() -> None:
    data = dataset()
    assert features_of(data, "r1", "comedy")["genre_affinity"] == pytest.approx(1.0)  # r1 rated only comedy
    assert features_of(data, "r1", "drama")["genre_affinity"] == pytest.approx(0.0)
    assert features_of(data, "r1", "new")["genre_affinity"] == pytest.approx(0.5)  # half comedy


def test_a_service_chosen_inside_the_segment_gets_a_lift_above_one() -> None:
    data = dataset()
    # comedy was rated by women only, drama mostly by men
    assert features_of(data, "r1", "comedy")["segment_gender_lift"] > 1.0 > features_of(
        data, "r3", "comedy")["segment_gender_lift"]
    assert features_of(data, "r3", "drama")["segment_age_lift"] > features_of(data, "r1", "drama")["segment_age_lift"]
    women, men = features_of(data, "r1", "comedy"), features_of(data, "r3", "comedy")
    assert women["segment_occupation_genre_lift"] > men["segment_occupation_genre_lift"]


def test_time_features_see_what_was_popular_while_the_resident_was_active() -> None:
    data = dataset()
    january, june = features_of(data, "r1", "new"), features_of(data, "r3", "new")
    assert january["active_first_after_last"] > 100  # the new film was first rated months after r1 stopped
    assert june["active_first_after_last"] < 7  # r3 was still rating that week
    assert june["active_share"] > january["active_share"] == 0.0
    assert june["active_years_since_release"] == pytest.approx(0.0, abs=1.0)
    assert june["rater_span_days"] == 0.0 and january["rater_days_since_first"] == pytest.approx(177.0)


def test_missing_side_information_gives_nan_not_an_error() -> None:
    data = dataset(RESIDENTS.drop(columns=["gender", "occupation"]).assign(**{C.BIRTH_YEAR: None}))
    row = features_of(data, "r1", "comedy")
    assert np.isnan(row["profile_gender"]) and np.isnan(row["segment_gender_lift"])
    assert np.isnan(row["segment_age_lift"])
    assert row["genre_affinity"] == pytest.approx(1.0)


def test_a_resident_the_pipeline_never_saw_gets_nan_time_features() -> None:
    data = dataset()
    pipeline = FeaturePipeline(FeatureSet.from_toml(feature_set_path("ratings"))).fit(data, "1998-07-01")
    newcomer = RESIDENTS.iloc[[0]].assign(**{C.RESIDENT: "r9"})
    cross = pipeline.cross_features(pd.DataFrame({C.RESIDENT: ["r9"], C.SERVICE: ["comedy"]}), profile_rows=newcomer)
    assert np.isnan(cross["active_share"].iloc[0])
    assert cross["segment_gender_lift"].iloc[0] > 1.0  # the profile alone places her in her segment
