"""Learned segments: k chosen by the criterion, stable ids, descriptions in Chinese and English."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from features import Vocab
from profiling import SegmentConfig, SegmentModel

_GROUPS = {  # behaviour of three clear groups: (category, share) plus time-of-day profile
    "carers": ("childcare", {"weekday_peak_share": 0.2, "daytime_share": 0.7, "offline_event_share": 0.3}),
    "elders": ("elderly_care", {"weekday_peak_share": 0.3, "daytime_share": 0.9, "offline_event_share": 0.9}),
    "workers": ("employment", {"weekday_peak_share": 0.7, "daytime_share": 0.2, "offline_event_share": 0.1}),
}
_SIZES = {"carers": 150, "elders": 100, "workers": 60}


def _behaviour(seed: int = 0, inactive: int = 20) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for g, (category, times) in _GROUPS.items():
        for _ in range(_SIZES[g]):
            shares = dict.fromkeys(Vocab.SERVICE_CATEGORIES, 0.0)
            shares[category] = 0.8
            shares["convenience"] = 0.2
            row = {f"share_{c}": v + (rng.normal(0, 0.03) if v else 0.0) for c, v in shares.items()}
            row |= {k: v + rng.normal(0, 0.05) for k, v in times.items()}
            row |= {"weekend_share": 0.3, "evening_share": 0.1, "events_per_month": 4.0, "n_events": 25.0}
            rows.append(row)
            truth.append(g)
    for _ in range(inactive):
        rows.append({"n_events": 1.0})
        truth.append("inactive")
    frame = pd.DataFrame(rows).fillna(0.0)
    frame.index = pd.Index([f"R{i:04d}" for i in range(len(frame))], name="resident_id")
    return frame.sample(frac=1.0, random_state=seed), np.asarray(truth, dtype=object)


def _config(**changes: object) -> SegmentConfig:
    return SegmentConfig(**{"min_segments": 2, "max_segments": 6, "sample_size": 1000, **changes})


@pytest.mark.parametrize("criterion", ["silhouette", "bic"])
def test_finds_the_planted_groups_and_an_inactive_segment(criterion: str) -> None:
    frame, truth = _behaviour()
    truth = pd.Series(truth, index=sorted(frame.index)).reindex(frame.index)
    model = SegmentModel(_config(criterion=criterion), seed=0).fit(frame)
    assert model.n_segments_ == 4
    assert adjusted_rand_score(truth, model.labels_) == pytest.approx(1.0)
    assert set(model.scores_) == set(range(2, 7))
    inactive = model.labels_[truth == "inactive"]
    assert (inactive == model.inactive_segment_).all() and model.inactive_segment_ == 3


def test_segment_ids_are_ordered_by_size_and_described_in_both_languages() -> None:
    frame, _ = _behaviour()
    model = SegmentModel(_config(), seed=0).fit(frame)
    descriptions = model.descriptions_
    assert descriptions["residents"].tolist() == [150, 100, 60, 20]
    assert "childcare" in descriptions.loc[0, "description_en"] and "托育" in descriptions.loc[0, "description_zh"]
    assert "elderly-care" in descriptions.loc[1, "description_en"] and "线下" in descriptions.loc[1, "description_zh"]
    assert "weekday peaks" in descriptions.loc[2, "description_en"]
    assert "工作日早晚高峰" in descriptions.loc[2, "description_zh"]
    assert descriptions.loc[3, "description_en"] == "little or no recorded activity"


def test_same_seed_same_segments_and_predict_agrees_with_fit() -> None:
    frame, _ = _behaviour(seed=3)
    first = SegmentModel(_config(), seed=11).fit(frame)
    second = SegmentModel(_config(), seed=11).fit(frame)
    pd.testing.assert_series_equal(first.labels_, second.labels_)
    pd.testing.assert_series_equal(first.predict(frame), first.labels_)
    reordered = frame.iloc[::-1]
    pd.testing.assert_series_equal(first.predict(reordered), first.labels_.reindex(reordered.index))


def test_predict_before_fit_says_to_fit() -> None:
    frame, _ = _behaviour()
    with pytest.raises(NotFittedError, match="fit"):
        SegmentModel().predict(frame)


def test_everyone_inactive_gives_a_single_segment() -> None:
    frame, _ = _behaviour(inactive=5)
    frame["n_events"] = 0.0
    model = SegmentModel(_config(), seed=0).fit(frame)
    assert model.n_segments_ == 1 and (model.labels_ == 0).all()
    assert model.descriptions_.loc[0, "description_zh"] == "几乎没有活动记录"


def test_an_empty_frame_has_no_segments() -> None:
    frame, _ = _behaviour()
    model = SegmentModel(_config(), seed=0).fit(frame.iloc[:0])
    assert model.n_segments_ == 0 and model.labels_.empty and model.descriptions_.empty
