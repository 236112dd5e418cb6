"""Side and time feature families on a hand-made film-like catalogue whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import Columns as C
from features import Dataset
from features.feature_registry import REGISTRY, FeatureSet
from features.pipeline import FeaturePipeline
from tests.features.test_pipeline import CUTOFF, _frames

SERVICE = ["service_popularity_<days>", "service_years_since_release"]
CROSS = ["genre_<stat>", "release_year_gap"]
WINDOWS = ["service_popularity_7d", "service_popularity_14d", "service_popularity_28d"]


def _pipeline(frames: dict[str, pd.DataFrame]) -> FeaturePipeline:
    config = FeatureSet.default().to_dict()
    config["service"]["features"] = SERVICE
    config["cross"]["features"] = CROSS
    return FeaturePipeline(FeatureSet.from_dict(config)).fit(Dataset.from_frames(**frames), CUTOFF)


def _films() -> dict[str, pd.DataFrame]:
    """The pipeline tests' history over films: elder = Drama;Comedy (1990), child = Drama (2000), job = Action (1970).

    Active strength: r1 elder 6 (use + rate); r2 child 3 (click + book), job 0.5 (view); r3 none.
    """
    frames = _frames()
    frames["services"] = frames["services"].assign(**{C.CATEGORY: ["Drama;Comedy", "Drama", "Action"],
                                                      "release_year": [1990, 2000, 1970]})
    return frames


@pytest.fixture(scope="module")
def films() -> FeaturePipeline:
    return _pipeline(_films())


def _cross(pipeline: FeaturePipeline, resident: str, service: str) -> pd.Series:
    return pipeline.cross_features(pd.DataFrame({C.RESIDENT: [resident], C.SERVICE: [service]})).iloc[0]


def test_the_families_are_registered() -> None:
    assert REGISTRY["service_popularity_<days>"].columns == tuple(WINDOWS)
    assert REGISTRY["genre_<stat>"].columns == ("genre_affinity", "genre_lift")
    assert {REGISTRY[name].entity for name in CROSS} == {"cross"}
    default = FeatureSet.default()  # chosen on MovieLens-100K validation windows (docs/models.md)
    assert set(SERVICE) <= set(default.service) and set(CROSS) <= set(default.cross)


def test_popularity_over_the_last_weeks(films: FeaturePipeline) -> None:
    service = films.service_features(["elder", "child", "job"])
    # 7 days back is 09-24: r2's click + book of child (3) and view of job (0.5); 14 days adds r1's impression
    # of job (0.1); 28 days adds r1's use and rating of elder (6). Three residents.
    assert service["service_popularity_7d"].tolist() == pytest.approx([0, 3 / 3, 0.5 / 3])
    assert service["service_popularity_14d"].tolist() == pytest.approx([0, 3 / 3, 0.6 / 3])
    assert service["service_popularity_28d"].tolist() == pytest.approx([6 / 3, 3 / 3, 0.6 / 3])


def test_years_since_release(films: FeaturePipeline) -> None:
    years = films.service_features(["child", "job"])["service_years_since_release"]
    assert years.tolist() == pytest.approx([26.75, 56.75], abs=0.01)  # cut-off 2026-10-01


def test_genre_affinity_shares_a_films_weight_among_its_genres(films: FeaturePipeline) -> None:
    # r1: all of their history is elder (Drama ½, Comedy ½); child is Drama alone
    r1_child = _cross(films, "r1", "child")
    overall_drama = (3 + 3) / 9.5  # Drama 3 (r1) + 3 (r2), Comedy 3, Action 0.5
    assert r1_child["genre_affinity"] == pytest.approx(0.5)
    assert r1_child["genre_lift"] == pytest.approx(0.5 / overall_drama)
    # r2: Drama 3 / 3.5, Action 0.5 / 3.5; elder is half Drama, half Comedy
    assert _cross(films, "r2", "elder")["genre_affinity"] == pytest.approx(0.5 * 3 / 3.5)
    assert _cross(films, "r2", "job")["genre_affinity"] == pytest.approx(0.5 / 3.5)


def test_release_year_gap_against_the_residents_habit(films: FeaturePipeline) -> None:
    assert _cross(films, "r1", "child")["release_year_gap"] == pytest.approx(2000 - 1990)
    r2_mean = (3 * 2000 + 0.5 * 1970) / 3.5
    assert _cross(films, "r2", "job")["release_year_gap"] == pytest.approx(1970 - r2_mean)


def test_a_resident_without_history_gets_unknown_not_zero(films: FeaturePipeline) -> None:
    r3 = _cross(films, "r3", "child")
    assert np.isnan(r3["genre_affinity"]) and np.isnan(r3["genre_lift"]) and np.isnan(r3["release_year_gap"])


def test_a_cold_start_profile_gets_unknown() -> None:
    frames = _films()
    profile = frames["residents"].iloc[[0]].assign(**{C.RESIDENT: "new"})
    x = _pipeline(frames).cross_features(pd.DataFrame({C.RESIDENT: ["new"], C.SERVICE: ["child"]}),
                                         profile_rows=profile).iloc[0]
    assert np.isnan(x["genre_affinity"]) and np.isnan(x["release_year_gap"])


def test_data_without_side_information_get_empty_columns_not_errors() -> None:
    # the community catalogue: one vocabulary category per service and no release_year column
    pipeline = _pipeline(_frames())
    service = pipeline.service_features()
    cross = pipeline.cross_features(pd.DataFrame({C.RESIDENT: ["r1", "r2", "r3"], C.SERVICE: ["child"] * 3}))
    assert service["service_years_since_release"].isna().all()
    assert cross[["genre_affinity", "genre_lift", "release_year_gap"]].isna().all().all()
    assert service["service_popularity_28d"].tolist() == pytest.approx([6 / 3, 3 / 3, 0.6 / 3])  # time still counts


def test_a_release_year_column_without_values_is_absent_too() -> None:
    frames = _films()
    frames["services"] = frames["services"].assign(release_year=None)
    pipeline = _pipeline(frames)
    assert pipeline.service_features()["service_years_since_release"].isna().all()
    assert np.isnan(_cross(pipeline, "r1", "child")["release_year_gap"])
    assert _cross(pipeline, "r1", "child")["genre_affinity"] == pytest.approx(0.5)  # genres still count
