"""A bag of LambdaRank rankers: the same rows, seeds ``seed, seed + 1, ...``, their scores combined.

The rankers of a bag differ in the residents held out for early stopping and in LightGBM's row and feature
subsamples. One ranker's order carries that randomness (label noise picked up by one subsample); combining a few
removes most of it. The combination is configuration (:data:`BagCombination`): the mean of the rankers' scores,
or the mean of each row's rank share within its resident, for rankers whose score scales differ (few, noisy
labels). What each choice measured is in ``docs/recommenders.md`` and ``docs/benchmarks.md``.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
import pandas as pd

from recommenders.errors import NotFittedError
from recommenders.ranker import LambdaRanker, RankerConfig

#: How a bag combines its rankers: ``mean_score`` (:meth:`RankerBag.predict`) or ``rank_share``
#: (:meth:`RankerBag.rank_shares`).
BagCombination = Literal["mean_score", "rank_share"]


class RankerBag:
    """``bags`` :class:`LambdaRanker` s trained on the same rows; a drop-in for one ranker.

    Parameters
    ----------
    config : RankerConfig, optional
    bags : int, default 1
        Number of rankers (seeds ``seed`` … ``seed + bags − 1``); 1 is exactly one :class:`LambdaRanker`.
    seed : int, default 0
    combination : {"mean_score", "rank_share"}, default "mean_score"
        What :meth:`score` returns.
    """

    def __init__(self, config: RankerConfig | None = None, bags: int = 1, seed: int = 0,
                 combination: BagCombination = "mean_score") -> None:
        if bags < 1:
            raise ValueError(f"bags must be ≥ 1, got {bags}")
        if combination not in ("mean_score", "rank_share"):
            raise ValueError(f"combination must be 'mean_score' or 'rank_share', got {combination!r}")
        self.config = config or RankerConfig()
        self.bags = bags
        self.seed = seed
        self.combination = combination

    def fit(self, features: pd.DataFrame, relevance: np.ndarray, resident_codes: np.ndarray) -> Self:
        """Train every ranker on the same rows (see :meth:`LambdaRanker.fit`)."""
        self.rankers_ = [LambdaRanker(self.config, seed=self.seed + bag).fit(features, relevance, resident_codes)
                         for bag in range(self.bags)]
        return self

    def _check(self) -> list[LambdaRanker]:
        if not hasattr(self, "rankers_"):
            raise NotFittedError(type(self).__name__)
        return self.rankers_

    @property
    def feature_names_(self) -> list[str]:
        """Feature columns the rankers were trained on."""
        return self._check()[0].feature_names_

    @property
    def best_iteration_(self) -> int:
        """Trees used, averaged over the rankers (each stops early on its own)."""
        return round(float(np.mean([r.best_iteration_ for r in self._check()])))

    def get_params(self) -> dict[str, Any]:
        """Flat hyper-parameters for experiment tracking (one ranker's, plus ``ranker.bags``)."""
        return self._check()[0].get_params() | {"ranker.seed": self.seed, "ranker.bags": self.bags,
                                                "ranker.combination": getattr(self, "combination", "mean_score")}

    def score(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """The bag's ranking score of candidate rows (``rows``: the resident of each), by its combination."""
        if getattr(self, "combination", "mean_score") == "rank_share":
            return self.rank_shares(features, rows)
        return self.predict(features)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Mean of the rankers' scores (higher is better)."""
        return np.mean([r.predict(features) for r in self._check()], axis=0)

    def rank_shares(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """Mean over rankers of each row's rank share within its resident (``rows``), 0 worst … 1 best.

        For rankers whose score scales differ (few, noisy labels), so that no ranker dominates the mean.
        """
        keys = np.asarray(rows)
        return np.mean([pd.Series(r.predict(features)).groupby(keys).rank(pct=True).to_numpy()
                        for r in self._check()], axis=0)

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions of :meth:`predict` (the mean of each ranker's SHAP values, which is
        exact: SHAP values are additive over averaged models)."""
        parts = [r.contributions(features) for r in self._check()]
        return sum(parts[1:], parts[0]) / len(parts)

    def feature_importance(self) -> pd.Series:
        """Mean total gain per feature over the rankers, largest first."""
        gains = [r.feature_importance() for r in self._check()]
        return (sum(gains[1:], gains[0]) / len(gains)).sort_values(ascending=False)


__all__ = ["RankerBag"]
