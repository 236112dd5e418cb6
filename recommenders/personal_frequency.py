"""Personal frequency filled by popularity (G-P-TopFreq): each resident's most used services first, then the
most used services overall.

In domains where residents come back to the same services (a canteen, a clinic, a weekly class) this two-line
baseline is hard to beat (next-basket studies find the same); it is the baseline the hybrid must beat there, and
one of its candidate generators. A resident's own events are recency-weighted with a half-life, so a service
used often last month outranks one used often last year. Services the resident consumed and residents do not
repeat get no place (:mod:`recommenders.repeat`, through the base class).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from features.dataset import Dataset
from recommenders.base import Recommender, RecommenderConfig
from recommenders.interactions import interaction_matrix
from recommenders.popular import service_popularity


class PersonalFrequencyConfig(RecommenderConfig):
    """Configuration of :class:`PersonalFrequencyRecommender`.

    Attributes
    ----------
    half_life_days : float or None
        Recency decay of the resident's own events: an event ``d`` days before the cut-off counts
        ``0.5 ** (d / half_life_days)``; ``None`` counts every event fully. How the default was chosen is
        in ``docs/models.md``.
    popular_half_life_days : float or None
        The same for the popularity that fills the list after the resident's own services.
    """

    half_life_days: float | None = Field(120.0, gt=0)
    popular_half_life_days: float | None = Field(None, gt=0)


class PersonalFrequencyRecommender(Recommender):
    """The resident's own services by recency-weighted frequency, then global popularity.

    Scores are ``1 + f / max f`` for services the resident used (``f``: their decayed, event-weighted count),
    in (1, 2], and the service's popularity share, in [0, 1], for the others: every service of the resident's
    own comes before every popular one. Learned state: ``personal_`` (residents × services, sparse) and
    ``popularity_`` (one share per service).

    Examples
    --------
    >>> model = PersonalFrequencyRecommender(half_life_days=120).fit(dataset, cutoff="2026-10-04")  # doctest: +SKIP
    >>> model.recommend(["R0000001"], k=5)  # doctest: +SKIP
    """

    name = "personal_frequency"
    config_class = PersonalFrequencyConfig
    config: PersonalFrequencyConfig

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        self.personal_ = interaction_matrix(dataset, weights=cfg.weights, half_life_days=cfg.half_life_days,
                                            now=self.cutoff_)
        popular = (self.history_ if cfg.popular_half_life_days is None else
                   interaction_matrix(dataset, weights=cfg.weights, half_life_days=cfg.popular_half_life_days,
                                      now=self.cutoff_))
        self.popularity_: np.ndarray = service_popularity(popular)

    def _score(self, residents: np.ndarray) -> np.ndarray:
        own = self.personal_[residents].toarray()
        best = own.max(axis=1, keepdims=True)
        relative = np.divide(own, best, out=np.zeros_like(own), where=best > 0)
        fill = np.broadcast_to(self.popularity_, own.shape)
        return np.where(own > 0, 1.0 + relative, fill)


__all__ = ["PersonalFrequencyConfig", "PersonalFrequencyRecommender"]
