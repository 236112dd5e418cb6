"""Paired bootstrap intervals: how sure a ratio of two models' mean scores on the same residents is.

Both models are scored on the same evaluation units (a resident in a window); each bootstrap draw resamples the
units with replacement and recomputes ``mean(model) / mean(baseline)`` on the same draw, so the interval carries
the pairing (what one resident finds hard, both models find hard). Percentile interval, seeded, reproducible.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

#: Bootstrap draws by default: enough for a stable 95 % percentile interval on a few thousand units.
DRAWS = 2000


class BootstrapError(ValueError):
    """The paired scores cannot be bootstrapped (different lengths, no units, bad level or draws)."""


@dataclass(frozen=True)
class RatioInterval:
    """A ratio of means with its bootstrap interval.

    Attributes
    ----------
    ratio : float
        ``mean(values) / mean(baseline)`` on all units (NaN when the baseline's mean is 0).
    low, high : float
        Percentile interval of the ratio over the bootstrap draws (draws with a zero baseline mean are left out).
    """

    ratio: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        """``{"ratio": ..., "low": ..., "high": ...}`` rounded to 4 places."""
        return {key: round(value, 4) if math.isfinite(value) else value for key, value in asdict(self).items()}


def paired_ratio_interval(values: np.ndarray, baseline: np.ndarray, *, draws: int = DRAWS, level: float = 0.95,
                          seed: int = 0, strata: np.ndarray | None = None) -> RatioInterval:
    """Ratio of the mean of ``values`` to the mean of ``baseline`` over the same units, with a paired interval.

    Parameters
    ----------
    values, baseline : numpy.ndarray
        One score per unit (e.g. each resident's NDCG@10 in each window), in the same order.
    draws : int
        Bootstrap resamples.
    level : float
        Coverage of the interval (0.95: the 2.5th and 97.5th percentiles).
    seed : int
        Seed of the resampling: same inputs and seed, same interval.
    strata : numpy.ndarray, optional
        A label per unit (e.g. its window); units are resampled within each stratum, so every draw keeps the
        strata's sizes.

    Raises
    ------
    BootstrapError
        If the arrays differ in length or are empty, ``draws < 1`` or ``level`` is not in (0, 1).
    """
    values = np.asarray(values, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=np.float64)
    if values.shape != baseline.shape or values.ndim != 1:
        raise BootstrapError(f"values and baseline must be 1-d and paired, got shapes {values.shape} and "
                             f"{baseline.shape}")
    if not len(values):
        raise BootstrapError("no units to bootstrap: values and baseline are empty")
    if draws < 1 or not 0.0 < level < 1.0:
        raise BootstrapError(f"need draws ≥ 1 and 0 < level < 1, got draws={draws}, level={level}")
    labels = np.zeros(len(values), dtype=np.int64) if strata is None else np.unique(strata, return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    value_sums = np.zeros(draws)
    base_sums = np.zeros(draws)
    for stratum in np.unique(labels):
        members = np.flatnonzero(labels == stratum)
        picks = members[rng.integers(0, len(members), size=(draws, len(members)))]
        value_sums += values[picks].sum(axis=1)
        base_sums += baseline[picks].sum(axis=1)
    ok = base_sums > 0
    ratios = value_sums[ok] / base_sums[ok]
    total = baseline.sum()
    ratio = float(values.sum() / total) if total > 0 else math.nan
    if not len(ratios):
        return RatioInterval(ratio, math.nan, math.nan)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return RatioInterval(ratio, float(low), float(high))
