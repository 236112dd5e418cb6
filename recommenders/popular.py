"""Global popularity: every resident gets the services most used by everyone (the baseline to beat).

:class:`PopularRecommender` is popularity as strong as it can honestly be: recent interest counts more (a window
or a half-life, chosen with ``recency="auto"`` on the last weeks of the training history, see
:mod:`recommenders.recency`), and a service the resident already consumed is not proposed again when residents
do not come back to it (the shared repeat policy of every generator, :mod:`recommenders.repeat`).
:class:`PopularCountRecommender` (``popular_count``) is the plain all-time count, kept as a reference.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import Field, model_validator

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.base import Recommender, RecommenderConfig
from recommenders.interactions import interaction_matrix
from recommenders.recency import Recency, choose_recency, consumed_matrix, recent_popularity

SeenPolicy = Literal["unless_repeatable", "keep"]


class PopularConfig(RecommenderConfig):
    """Configuration of :class:`PopularRecommender`.

    Attributes
    ----------
    recency : {"auto", "all", "window", "half_life"}
        ``auto`` chooses among all time, windows and half-lives on the last ``validation_weeks`` of the training
        history; ``window`` counts the last ``recency_days``; ``half_life`` decays by ``recency_days``.
    recency_days : float or None
        Window length or half-life in days (for ``window`` and ``half_life``).
    validation_weeks : int
        Length of the validation window ``auto`` chooses on (cut from the end of the training history).
    seen : {"keep", "unless_repeatable"}
        ``keep`` (default): what comes back is decided by the shared repeat policy (``repeat``, learned from the
        data by default); ``unless_repeatable`` is stricter: a service the resident booked, used or rated is not
        recommended again unless its ``one_off`` flag is false.
    half_life_days : float or None
        Same as ``recency="half_life"`` with ``recency_days=half_life_days`` (kept for older configs).
    """

    recency: Literal["auto", "all", "window", "half_life"] = "auto"
    recency_days: float | None = Field(None, gt=0)
    validation_weeks: int = Field(4, ge=1)
    seen: SeenPolicy = "keep"
    half_life_days: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _days_given(self) -> PopularConfig:
        if self.recency in ("window", "half_life") and self.recency_days is None:
            raise ValueError(f"recency={self.recency!r} needs recency_days (a length in days > 0)")
        return self

    def fixed_recency(self) -> Recency | None:
        """The recency this config fixes, or ``None`` when it is chosen on validation."""
        if self.half_life_days is not None:
            return Recency("half_life", self.half_life_days)
        if self.recency == "auto":
            return None
        return Recency(self.recency, self.recency_days)


class PopularRecommender(Recommender):
    """Scores every service by its share of recent (event-weighted) interest, minus what the resident consumed.

    Learned state: ``popularity_`` (one share per service, summing to 1 when there is any positive history),
    ``recency_`` (the :class:`~recommenders.recency.Recency` used), ``recency_choice_`` (with ``auto``: every
    candidate's validation NDCG) and ``blocked_`` (residents × services the resident may not be shown again).

    Examples
    --------
    >>> model = PopularRecommender(recency="auto").fit(dataset, cutoff="2026-10-04")  # doctest: +SKIP
    >>> model.recency_.label()  # doctest: +SKIP
    'window_14d'
    """

    name = "popular"
    config_class = PopularConfig
    config: PopularConfig

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        repeatable = repeatable_services(dataset)
        fixed = cfg.fixed_recency()
        self.recency_choice_ = None
        if fixed is None:
            self.recency_choice_ = choose_recency(dataset, self.cutoff_, cfg.weights, repeatable,
                                                  validation_weeks=cfg.validation_weeks)
            fixed = self.recency_choice_.recency
        self.recency_: Recency = fixed
        self.popularity_: np.ndarray = recent_popularity(dataset, cfg.weights, fixed, self.cutoff_)
        blocked = consumed_matrix(dataset) if cfg.seen == "unless_repeatable" else sp.csr_matrix(
            (len(dataset.resident_ids), len(dataset.service_ids)), dtype=bool)
        self.blocked_: sp.csr_matrix = blocked.multiply(~repeatable[None, :]).tocsr().astype(bool)

    def _score(self, residents: np.ndarray) -> np.ndarray:
        scores = np.broadcast_to(self.popularity_, (len(residents), len(self.popularity_))).copy()
        scores[self.blocked_[residents].toarray()] = -np.inf
        return scores


class PopularCountConfig(RecommenderConfig):
    """Configuration of :class:`PopularCountRecommender` (today's plain popularity).

    Attributes
    ----------
    half_life_days : float or None
        Recency decay: an event ``d`` days before the cutoff counts ``0.5 ** (d / half_life_days)``;
        ``None`` counts every event fully.
    """

    half_life_days: float | None = Field(None, gt=0)


class PopularCountRecommender(Recommender):
    """The plain all-time count: one list for everyone, history and consumption ignored (a reference row)."""

    name = "popular_count"
    config_class = PopularCountConfig
    config: PopularCountConfig

    def _fit(self, dataset: Dataset) -> None:
        self.popularity_: np.ndarray = service_popularity(decayed_history(self, dataset))

    def _score(self, residents: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(residents), len(self.popularity_))).copy()


def repeatable_services(dataset: Dataset) -> np.ndarray:
    """(n_services,) bool in internal id order: services whose ``one_off`` flag is explicitly false."""
    services = dataset.services.set_index(C.SERVICE).reindex(dataset.service_ids.external)
    if C.ONE_OFF not in services.columns:
        return np.zeros(len(dataset.service_ids), dtype=bool)
    flag = pd.array(services[C.ONE_OFF], dtype="boolean")
    return np.asarray((~flag).fillna(False), dtype=bool)


def decayed_history(model: Recommender, dataset: Dataset) -> sp.csr_matrix:
    """The model's weighted history, recency-decayed towards its cutoff when ``config.half_life_days`` is set."""
    half_life = getattr(model.config, "half_life_days", None)
    if half_life is None:
        return model.history_
    return interaction_matrix(dataset, weights=model.config.weights, half_life_days=half_life, now=model.cutoff_)


def service_popularity(history: sp.spmatrix) -> np.ndarray:
    """Each service's share of the summed positive weight of a resident × service matrix.

    Returns
    -------
    numpy.ndarray
        (n_services,) float64 summing to 1; all zeros when there is no positive history.
    """
    totals = np.asarray(history.sum(axis=0), dtype=np.float64).ravel()
    total = totals.sum()
    return totals / total if total > 0 else totals
