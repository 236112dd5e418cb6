"""Paired bootstrap of a ratio of means: pairing, reproducibility, strata and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from training.bootstrap import BootstrapError, paired_ratio_interval


def test_a_model_twice_as_good_on_every_unit_has_ratio_two_with_no_doubt() -> None:
    baseline = np.random.default_rng(0).uniform(0.1, 1.0, 300)
    interval = paired_ratio_interval(2 * baseline, baseline)
    assert (interval.ratio, interval.low, interval.high) == pytest.approx((2.0, 2.0, 2.0))


def test_the_interval_is_seeded_and_covers_the_ratio() -> None:
    rng = np.random.default_rng(1)
    baseline = rng.uniform(0, 1, 500)
    values = np.clip(baseline + rng.normal(0.05, 0.2, 500), 0, 1)
    first = paired_ratio_interval(values, baseline, seed=3)
    assert first == paired_ratio_interval(values, baseline, seed=3)
    assert first.low < first.ratio < first.high
    assert first.ratio == pytest.approx(values.mean() / baseline.mean())
    wider = paired_ratio_interval(values[:50], baseline[:50], seed=3)
    assert wider.high - wider.low > first.high - first.low


def test_strata_keep_their_sizes() -> None:
    # Units of stratum 1 are all zero for both; resampling within strata keeps 100 non-zero units per draw.
    baseline = np.r_[np.full(100, 0.5), np.zeros(100)]
    values = np.r_[np.full(100, 0.6), np.zeros(100)]
    interval = paired_ratio_interval(values, baseline, strata=np.r_[np.zeros(100), np.ones(100)])
    assert (interval.low, interval.high) == pytest.approx((1.2, 1.2))


def test_bad_inputs_are_named() -> None:
    with pytest.raises(BootstrapError, match="paired"):
        paired_ratio_interval(np.ones(3), np.ones(4))
    with pytest.raises(BootstrapError, match="empty"):
        paired_ratio_interval(np.array([]), np.array([]))
    with pytest.raises(BootstrapError, match="level"):
        paired_ratio_interval(np.ones(3), np.ones(3), level=1.5)
