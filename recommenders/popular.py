"""Global popularity: every resident gets the services most used by everyone (the baseline to beat)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from features.dataset import Dataset
from recommenders.base import Recommender, RecommenderConfig
from recommenders.interactions import interaction_matrix


class PopularConfig(RecommenderConfig):
    """Configuration of :class:`PopularRecommender`.

    Attributes
    ----------
    half_life_days : float or None
        Recency decay: an event ``d`` days before the cutoff counts ``0.5 ** (d / half_life_days)``;
        ``None`` counts every event fully.
    """

    half_life_days: float | None = Field(None, gt=0)


class PopularRecommender(Recommender):
    """Scores every service by its share of all (event-weighted, optionally recency-decayed) interest.

    The same list for everyone; a resident's own history plays no part. Learned state: ``popularity_``
    (one share per service, summing to 1 when there is any positive history).

    Examples
    --------
    >>> model = PopularRecommender(half_life_days=30).fit(dataset, cutoff="2026-10-04")  # doctest: +SKIP
    >>> model.recommend(["R0000001"], k=5)  # doctest: +SKIP
    """

    name = "popular"
    config_class = PopularConfig
    config: PopularConfig

    def _fit(self, dataset: Dataset) -> None:
        self.popularity_: np.ndarray = service_popularity(decayed_history(self, dataset))

    def _score(self, residents: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(residents), len(self.popularity_))).copy()


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
