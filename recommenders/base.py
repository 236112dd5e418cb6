"""The one model contract every recommender follows (template method, as in RecTools' ModelBase).

``fit(dataset, cutoff)`` wraps ``_fit`` on the history strictly before ``cutoff``, stores the id maps and
marks the model fitted; ``recommend(resident_ids, k)`` returns one typed table with columns
``resident_id, service_id, score, rank`` (rank 1 is best). Public methods take and return external ids.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict

from features.columns import Columns as C
from features.dataset import Dataset, IdMap
from recommenders.errors import NotFittedError
from recommenders.interactions import EventWeights, interaction_matrix
from recommenders.persistence import read_object, write_object
from recommenders.repeat import RepeatConfig, RepeatProfile, learn_repeat

SCORE, RANK = "score", "rank"


class RecommenderConfig(BaseModel):
    """Base of every model's config: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: EventWeights = EventWeights()
    #: Which consumed services may be listed again (see :mod:`recommenders.repeat`).
    repeat: RepeatConfig = RepeatConfig()


class Recommender(ABC):
    """Base class of all recommenders.

    Subclasses set ``name`` and ``config_class`` and implement ``_fit`` and ``_score``.

    Parameters
    ----------
    config : RecommenderConfig, optional
        The model's config; keyword ``params`` build one instead.
    **params
        Fields of the model's config class.
    """

    name: ClassVar[str] = "base"
    config_class: ClassVar[type[RecommenderConfig]] = RecommenderConfig

    def __init__(self, config: RecommenderConfig | None = None, **params: Any) -> None:
        self.config = config if config is not None else self.config_class(**params)

    # ----- parameters -----------------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Flat dict of hyper-parameters (``weights.view`` style keys), ready for ``mlflow.log_params``."""
        return _flatten(self.config.model_dump(), f"{self.name}.")

    # ----- fitting --------------------------------------------------------------------------------------
    def fit(self, dataset: Dataset, cutoff: pd.Timestamp | str | None = None) -> Self:
        """Learn from the interactions strictly before ``cutoff`` (all of them when ``None``)."""
        history = self._remember(dataset, cutoff)
        self._fit(history)
        self.is_fitted_ = True
        return self

    def _remember(self, dataset: Dataset, cutoff: pd.Timestamp | str | None) -> Dataset:
        """Store the cut-off, id maps and seen-matrix of a fit; return the history before the cut-off."""
        history = dataset.until(cutoff) if cutoff is not None else dataset
        self.cutoff_: pd.Timestamp = pd.Timestamp(cutoff) if cutoff is not None else dataset.history_end()
        self.resident_ids_: IdMap = dataset.resident_ids
        self.service_ids_: IdMap = dataset.service_ids
        self.history_: sp.csr_matrix = interaction_matrix(history, weights=self.config.weights)
        self.repeat_: RepeatProfile = learn_repeat(history, self.config.repeat)
        return history

    @abstractmethod
    def _fit(self, dataset: Dataset) -> None:
        """Learn from ``dataset`` (its interactions are already cut)."""

    @abstractmethod
    def _score(self, residents: np.ndarray) -> np.ndarray:
        """Scores (len(residents) × n_services) for internal resident ids; higher is better, −inf = never."""

    # ----- inference ------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not getattr(self, "is_fitted_", False):
            raise NotFittedError(type(self).__name__)

    def score_matrix(self, residents: np.ndarray) -> np.ndarray:
        """Scores (len(residents) × n_services) for internal resident ids, in service id-map order.

        A service the resident consumed and residents do not repeat scores −inf (see :mod:`recommenders.repeat`).
        """
        self._check_fitted()
        return self._repeat_aware(np.asarray(residents, dtype=np.int64))

    def _repeat_aware(self, residents: np.ndarray) -> np.ndarray:
        """``_score`` with consumed, not-repeated services at −inf."""
        scores = np.asarray(self._score(residents), dtype=np.float64)
        blocked = self.repeat_.blocked(residents)
        if blocked.any():
            scores = np.where(blocked, -np.inf, scores)
        return scores

    def score(self, resident_ids: pd.Series | np.ndarray | list[str]) -> pd.DataFrame:
        """Scores of every service for each resident, as a frame indexed by resident id, columns service ids."""
        self._check_fitted()
        internal = self.resident_ids_.to_internal(resident_ids)
        return pd.DataFrame(self._repeat_aware(internal), index=pd.Index(np.asarray(resident_ids), name=C.RESIDENT),
                            columns=self.service_ids_.external)

    def recommend(self, resident_ids: pd.Series | np.ndarray | list[str], k: int = 10, *,
                  exclude_seen: bool = False) -> pd.DataFrame:
        """Top-``k`` services per resident.

        Parameters
        ----------
        resident_ids : sequence of str
            External ids; unknown ids raise :class:`features.UnknownIdError`.
        k : int
            List length (at most the number of services with a finite score).
        exclude_seen : bool
            Drop services the resident interacted with positively before the cutoff. Consumed services that
            residents do not repeat are dropped either way (``config.repeat``).

        Returns
        -------
        pandas.DataFrame
            ``resident_id, service_id, score, rank``, sorted by resident (input order) then rank.
        """
        self._check_fitted()
        if k < 1:
            raise ValueError(f"k must be ≥ 1, got {k}")
        ids = np.asarray(resident_ids, dtype=object)
        internal = self.resident_ids_.to_internal(ids)
        scores = self._repeat_aware(internal).astype(np.float64, copy=True)
        if exclude_seen:
            seen = self.history_[internal]
            scores[seen.nonzero()] = -np.inf
        return top_k_frame(ids, scores, self.service_ids_, k)

    # ----- persistence ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one file; :meth:`load` reads it back."""
        self._check_fitted()
        return write_object(self, path, self.name)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`; the file must hold this class (or a subclass)."""
        return read_object(path, cls)


def top_k_frame(resident_ids: np.ndarray, scores: np.ndarray, service_ids: IdMap, k: int) -> pd.DataFrame:
    """Turn a score matrix into the typed top-k table; −inf scores are never recommended.

    Ties are broken by internal service id, so results are deterministic.
    """
    n, m = scores.shape
    k_eff = min(k, m)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k_eff]  # catalogues are small: a full sort is cheap
    top_scores = np.take_along_axis(scores, top, axis=1)
    keep = np.isfinite(top_scores)
    rows = np.repeat(np.arange(n), k_eff).reshape(n, k_eff)
    ranks = np.tile(np.arange(1, k_eff + 1), (n, 1))
    return pd.DataFrame({
        C.RESIDENT: resident_ids[rows[keep]],
        C.SERVICE: service_ids.to_external(top[keep]),
        SCORE: top_scores[keep],
        RANK: ranks[keep],
    })


def _flatten(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
