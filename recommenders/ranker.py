"""The LightGBM LambdaRank ranker: learns to order each resident's candidates from features and
candidate-generator scores. Groups are built per resident (rows sorted by resident, one group each)."""

from __future__ import annotations

from typing import Any, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from recommenders.errors import NotFittedError


class RankerConfig(BaseModel):
    """LambdaRank hyper-parameters (LightGBM names).

    The defaults here are the shipped hybrid's, and live only here: a configuration (``[hybrid.ranker]``)
    states only what differs. ``num_leaves`` is 15, not LightGBM's 31: as good on the validation communities
    and half the cost of explanations (``docs/recommenders.md``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_estimators: int = Field(300, ge=1)
    learning_rate: float = Field(0.08, gt=0)
    num_leaves: int = Field(15, ge=2)
    min_child_samples: int = Field(20, ge=1)
    subsample: float = Field(0.8, gt=0, le=1)
    subsample_freq: int = 1
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    early_stopping_rounds: int = Field(30, ge=1)
    eval_at: int = Field(10, ge=1)
    eval_share: float = Field(0.2, gt=0, lt=1)
    truncation_level: int = Field(12, ge=1)
    max_bin: int = Field(63, ge=4)
    n_jobs: int = 2
    #: Feature name → +1 (score may only rise with it) or −1 (only fall); unnamed features are free.
    monotone: dict[str, int] = Field(default_factory=dict)


def group_sizes(resident_codes: np.ndarray) -> np.ndarray:
    """Sizes of consecutive runs of equal resident codes (rows must be sorted by resident)."""
    if len(resident_codes) == 0:
        return np.zeros(0, dtype=np.int64)
    if (np.diff(resident_codes) < 0).any():
        raise ValueError("ranker rows must be sorted by resident so that each resident forms one group")
    starts = np.flatnonzero(np.r_[True, resident_codes[1:] != resident_codes[:-1]])
    return np.diff(np.r_[starts, len(resident_codes)])


def _monotone(directions: dict[str, int], columns: list[str]) -> dict[str, Any]:
    """LightGBM keyword arguments for monotone constraints (none when ``directions`` is empty)."""
    if not directions:
        return {}
    bad = {k: v for k, v in directions.items() if v not in (-1, 0, 1)}
    if bad:
        raise ValueError(f"monotone directions must be -1, 0 or 1, got {bad}")
    return {"monotone_constraints": [directions.get(c, 0) for c in columns],
            "monotone_constraints_method": "advanced"}


class LambdaRanker:
    """LightGBM LambdaRank with per-resident groups and early stopping on held-out residents.

    Parameters
    ----------
    config : RankerConfig, optional
    seed : int
    """

    def __init__(self, config: RankerConfig | None = None, seed: int = 0) -> None:
        self.config = config or RankerConfig()
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """Flat hyper-parameters for experiment tracking."""
        params = self.config.model_dump(exclude={"monotone"} if not self.config.monotone else None)
        return {f"ranker.{k}": v for k, v in params.items()} | {"ranker.seed": self.seed}

    def fit(self, features: pd.DataFrame, relevance: np.ndarray, resident_codes: np.ndarray) -> Self:
        """Train on candidate rows sorted by resident.

        Parameters
        ----------
        features : pandas.DataFrame
            One row per (resident, candidate service), numeric columns.
        relevance : ndarray of int
            Graded relevance label per row (0 = not relevant).
        resident_codes : ndarray of int
            Resident of each row; rows of a resident are contiguous and codes ascending.
        """
        cfg = self.config
        sizes = group_sizes(resident_codes)
        rng = np.random.default_rng(self.seed)
        is_eval_group = rng.random(len(sizes)) < cfg.eval_share
        if is_eval_group.all() or not is_eval_group.any():
            is_eval_group[:] = False
            is_eval_group[: max(1, len(sizes) // 5)] = True
        row_is_eval = np.repeat(is_eval_group, sizes)
        self.model_ = lgb.LGBMRanker(
            objective="lambdarank", n_estimators=cfg.n_estimators, learning_rate=cfg.learning_rate,
            num_leaves=cfg.num_leaves, min_child_samples=cfg.min_child_samples, subsample=cfg.subsample,
            subsample_freq=cfg.subsample_freq, colsample_bytree=cfg.colsample_bytree, reg_lambda=cfg.reg_lambda,
            random_state=self.seed, n_jobs=cfg.n_jobs, verbose=-1, deterministic=True, force_row_wise=True,
            lambdarank_truncation_level=cfg.truncation_level, max_bin=cfg.max_bin,
            **_monotone(cfg.monotone, list(features.columns)),
        )
        self.model_.fit(
            features[~row_is_eval], relevance[~row_is_eval], group=sizes[~is_eval_group],
            eval_X=(features[row_is_eval],), eval_y=(relevance[row_is_eval],), eval_group=[sizes[is_eval_group]],
            eval_at=[cfg.eval_at], callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
        )
        self.feature_names_ = list(features.columns)
        self.best_iteration_ = int(self.model_.best_iteration_ or cfg.n_estimators)
        self.best_score_ = float(next(iter(self.model_.best_score_["valid_0"].values())))
        return self

    def _check(self) -> lgb.LGBMRanker:
        if not hasattr(self, "model_"):
            raise NotFittedError(type(self).__name__)
        return self.model_

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        """The trained columns as one array (the booster is called directly: the scikit-learn wrapper's checks
        cost more than the prediction itself for a single resident's few rows)."""
        columns = features[self.feature_names_]
        return columns.to_numpy(dtype=np.result_type(*columns.dtypes) if len(columns.columns) else np.float64)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Ranking score of every row (higher is better)."""
        model = self._check()
        # dense input: LightGBM returns an ndarray (its annotation also allows sparse and list outputs)
        return np.asarray(model.booster_.predict(self._matrix(features), num_iteration=self.best_iteration_))

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions (SHAP values from LightGBM), one column per feature."""
        model = self._check()
        values = np.asarray(model.booster_.predict(self._matrix(features), num_iteration=self.best_iteration_,
                                                   pred_contrib=True))
        return pd.DataFrame(values[:, :-1], columns=self.feature_names_, index=features.index)

    def feature_importance(self) -> pd.Series:
        """Total gain per feature, largest first."""
        model = self._check()
        gain = model.booster_.feature_importance(importance_type="gain", iteration=self.best_iteration_)
        return pd.Series(gain, index=self.feature_names_).sort_values(ascending=False)
