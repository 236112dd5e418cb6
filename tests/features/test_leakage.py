"""Point-in-time correctness: features for a cut-off never see events at or after it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import Columns as C
from features import Dataset
from features.pipeline import FeaturePipeline

CUTOFF = pd.Timestamp("2026-10-01")


def _rewrite_events(dataset: Dataset, rows: np.ndarray) -> pd.DataFrame:
    """Interactions with the chosen rows turned into strong, offline, 1-star ratings of another service."""
    interactions = dataset.interactions.copy()
    services = dataset.services[C.SERVICE].to_numpy(dtype=object)
    shifted = (dataset.service_ids.to_internal(interactions[C.SERVICE]) + 1) % len(services)
    interactions[C.SERVICE] = interactions[C.SERVICE].astype(object).where(~rows, services[shifted])
    interactions[C.EVENT] = interactions[C.EVENT].where(~rows, "rate")
    interactions[C.RATING] = interactions[C.RATING].where(~rows, 1.0)
    interactions[C.CHANNEL] = interactions[C.CHANNEL].where(~rows, "offline")
    return interactions


def _with_interactions(dataset: Dataset, interactions: pd.DataFrame) -> Dataset:
    return Dataset.from_frames(dataset.residents, dataset.communities, dataset.services, interactions)


def _all_features(pipeline: FeaturePipeline, dataset: Dataset, pairs: pd.DataFrame) -> list[pd.DataFrame]:
    return [pipeline.resident_features(dataset.residents[C.RESIDENT]), pipeline.service_features(),
            pipeline.cross_features(pairs)]


@pytest.fixture(scope="module")
def pairs(dataset: Dataset) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    residents = dataset.residents[C.RESIDENT].to_numpy(dtype=object)
    services = dataset.services[C.SERVICE].to_numpy(dtype=object)
    seen = dataset.interactions[[C.RESIDENT, C.SERVICE]].astype(object).drop_duplicates().head(3000)
    drawn = pd.DataFrame({C.RESIDENT: rng.choice(residents, 3000), C.SERVICE: rng.choice(services, 3000)})
    return pd.concat([seen, drawn], ignore_index=True)


def test_events_at_or_after_cutoff_change_nothing(dataset: Dataset, pairs: pd.DataFrame) -> None:
    timestamps = dataset.interactions[C.TIMESTAMP]
    assert (timestamps >= CUTOFF).sum() > 1000  # the fixture has a future to leak from
    altered = _rewrite_events(dataset, (timestamps >= CUTOFF).to_numpy())
    silent = dataset.residents[C.RESIDENT].iloc[:200].to_numpy(dtype=object)
    at_cutoff = pd.DataFrame({C.RESIDENT: silent, C.SERVICE: dataset.services[C.SERVICE].iloc[0],
                              C.TIMESTAMP: CUTOFF, C.EVENT: "use", C.CHANNEL: "offline"})
    leaky = _with_interactions(dataset, pd.concat([altered, at_cutoff], ignore_index=True))

    clean = FeaturePipeline().fit(dataset, CUTOFF)
    tempted = FeaturePipeline().fit(leaky, CUTOFF)
    for expected, got in zip(_all_features(clean, dataset, pairs), _all_features(tempted, dataset, pairs),
                             strict=True):
        pd.testing.assert_frame_equal(got, expected)


def test_the_same_change_before_cutoff_is_seen(dataset: Dataset, pairs: pd.DataFrame) -> None:
    """Control for the test above: rewriting past events must change features, or it proves nothing."""
    timestamps = dataset.interactions[C.TIMESTAMP]
    before = ((timestamps < CUTOFF) & (timestamps >= CUTOFF - pd.Timedelta(days=20))).to_numpy()
    changed = _with_interactions(dataset, _rewrite_events(dataset, before))
    clean = _all_features(FeaturePipeline().fit(dataset, CUTOFF), dataset, pairs)
    seen = _all_features(FeaturePipeline().fit(changed, CUTOFF), dataset, pairs)
    for expected, got in zip(clean, seen, strict=True):
        assert not got.equals(expected)


def test_fitting_on_the_truncated_dataset_is_identical(dataset: Dataset, pairs: pd.DataFrame) -> None:
    full = _all_features(FeaturePipeline().fit(dataset, CUTOFF), dataset, pairs)
    truncated = _all_features(FeaturePipeline().fit(dataset.until(CUTOFF), CUTOFF), dataset, pairs)
    for expected, got in zip(full, truncated, strict=True):
        pd.testing.assert_frame_equal(got, expected)


def test_age_is_computed_at_the_cutoff(dataset: Dataset) -> None:
    ids = dataset.residents[C.RESIDENT]
    birth_year = dataset.residents[C.BIRTH_YEAR].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    for cutoff in ("2026-10-01", "2031-03-15"):
        age = FeaturePipeline().fit(dataset, cutoff).resident_features(ids)["age"].to_numpy()
        np.testing.assert_array_equal(age, pd.Timestamp(cutoff).year - birth_year)
