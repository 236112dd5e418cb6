"""Repeat features on a hand-made history whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import Columns as C
from features import Dataset
from features.feature_registry import REGISTRY, FeatureSet
from features.pipeline import FeaturePipeline
from tests.features.test_pipeline import CUTOFF, _frames

REPEAT = [f"repeat_{s}" for s in ("uses", "uses_4w", "uses_8w", "days_since_last", "mean_interval", "dueness")]


def _dataset() -> Dataset:
    frames = _frames()
    events = [  # r2 uses "job" every 20 days; r3 books "child" and uses it two days later (one occasion)
        ("r2", "job", "2026-07-13 09:00", "use", None, "offline"),
        ("r2", "job", "2026-08-02 09:00", "use", None, "offline"),
        ("r2", "job", "2026-08-22 09:00", "use", None, "offline"),
        ("r2", "job", "2026-08-22 18:00", "use", None, "offline"),  # same day: the same occasion
        ("r2", "job", "2026-09-11 09:00", "use", None, "offline"),
        ("r3", "child", "2026-09-20 09:00", "book", None, "online"),
        ("r3", "child", "2026-09-22 09:00", "use", None, "online"),
    ]
    extra = pd.DataFrame(events, columns=frames["interactions"].columns)
    frames["interactions"] = pd.concat([frames["interactions"], extra], ignore_index=True)
    return Dataset.from_frames(**frames)


@pytest.fixture(scope="module")
def pipeline() -> FeaturePipeline:
    config = FeatureSet.default().to_dict()
    config["cross"]["features"] = ["repeat_<stat>"]
    config["service"]["features"] = ["service_repeat_rate", "service_popularity"]
    return FeaturePipeline(FeatureSet.from_dict(config)).fit(_dataset(), CUTOFF)


def test_the_repeat_family_is_registered_and_in_the_default_set() -> None:
    assert REGISTRY["repeat_<stat>"].columns == tuple(REPEAT)
    default = FeatureSet.default()
    assert set(REPEAT) <= set(default.columns("cross"))
    assert "service_repeat_rate" in default.columns("service")


def test_a_regular_users_habit(pipeline: FeaturePipeline) -> None:
    x = pipeline.cross_features(pd.DataFrame({C.RESIDENT: ["r2"], C.SERVICE: ["job"]})).iloc[0]
    # uses on 07-13, 08-02, 08-22, 09-11 (the cut-off is 10-01: 4 weeks back is 09-03, 8 weeks back 08-06)
    assert x[REPEAT[:3]].tolist() == [4, 1, 2]
    assert x["repeat_days_since_last"] == 20 and x["repeat_mean_interval"] == 20
    assert x["repeat_dueness"] == pytest.approx(1.0)


def test_a_booking_and_its_use_are_one_occasion(pipeline: FeaturePipeline) -> None:
    x = pipeline.cross_features(pd.DataFrame({C.RESIDENT: ["r3"], C.SERVICE: ["child"]})).iloc[0]
    assert x["repeat_uses"] == 1 and x["repeat_days_since_last"] == 9
    assert np.isnan(x["repeat_mean_interval"]) and np.isnan(x["repeat_dueness"])


def test_no_history_means_zero_uses_and_unknown_timing(pipeline: FeaturePipeline) -> None:
    x = pipeline.cross_features(pd.DataFrame({C.RESIDENT: ["r3"], C.SERVICE: ["elder"]})).iloc[0]
    assert x[REPEAT[:3]].tolist() == [0, 0, 0]
    assert x[REPEAT[3:]].isna().all()


def test_service_repeat_rate_needs_enough_consumers(pipeline: FeaturePipeline) -> None:
    rate = pipeline.service_features()["service_repeat_rate"]
    assert rate.isna().all(), "three residents are too few for a rate, even pooled by category"
