"""Adoption: what residents like you who had not used a service took up lately — new services only.

Popularity counts use: a convenience service used weekly by everyone outweighs a registration each newcomer
makes once, and a service only some residents may use (floating residents, families, the elderly) is diluted
by everyone it does not admit. Neither says how likely a resident is to *start* using a service. This
generator measures exactly that, per persona:

    rate(persona, service) = residents of the persona who first consumed the service in the last
                             ``window_days`` / residents of the persona who had not consumed it before them,

shrunk towards the same rate over all residents with ``prior_residents`` pseudo-residents. A resident's score
is the highest rate among their personas (rule tags, as :mod:`recommenders.persona_popular`), blended with the
overall rate; services the resident already consumed (booked, used or rated) score −inf, so the generator
spends its candidates on services the resident has not used yet. The denominator makes the rate one of
take-up among those still able to take the service up: a one-off registration most newcomers of a persona
make scores high for that persona's residents who have not made it, whatever its share of all events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import Field

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.persona_popular import PersonaPopularConfig, PersonaPopularRecommender
from recommenders.recency import CONSUMED_EVENTS, consumed_matrix


class AdoptionConfig(PersonaPopularConfig):
    """Configuration of :class:`AdoptionRecommender` (besides the persona tagging of
    :class:`~recommenders.persona_popular.PersonaPopularConfig`; its ``half_life_days`` and
    ``new_service_prior`` are not used).

    Attributes
    ----------
    window_days : float
        First uses in this many days before the cut-off are the take-ups counted.
    prior_residents : float
        Pseudo-residents at the overall rate added to every persona's counts (shrinks small personas).
    """

    window_days: float = Field(28.0, gt=0)
    prior_residents: float = Field(20.0, ge=0)


class AdoptionRecommender(PersonaPopularRecommender):
    """Recent take-up rate among residents of the same persona(s) who had not used the service; new services only.

    Learned state (besides :class:`~recommenders.persona_popular.PersonaPopularRecommender`'s persona tagger):
    ``persona_popularity_`` (personas × services: take-up rates), ``popularity_`` (services: the overall rate)
    and ``consumed_`` (residents × services, bool: consumed before the cut-off).

    Examples
    --------
    >>> model = AdoptionRecommender().fit(dataset, cutoff="2026-10-04")  # doctest: +SKIP
    >>> model.recommend(["R0000001"], k=5)  # doctest: +SKIP
    """

    name = "adoption"
    config_class = AdoptionConfig
    config: AdoptionConfig

    def _fit(self, dataset: Dataset) -> None:
        super()._fit(dataset)  # the persona tags (and distributions this class replaces)
        cfg = self.config
        adopted, before = first_use_matrices(dataset, self.cutoff_ - pd.Timedelta(days=cfg.window_days))
        self.consumed_: sp.csr_matrix = consumed_matrix(dataset)
        tags = sp.csr_matrix(self.persona_tags_.T.astype(np.float64))
        members = np.asarray(tags.sum(axis=1), dtype=np.float64)
        overall = _rate(np.asarray(adopted.sum(axis=0), dtype=np.float64).ravel(),
                        len(self.resident_ids_) - np.asarray(before.sum(axis=0), dtype=np.float64).ravel())
        persona_adopted = (tags @ adopted.astype(np.float64)).toarray()
        persona_at_risk = members - (tags @ before.astype(np.float64)).toarray()
        prior = cfg.prior_residents
        self.popularity_ = overall
        self.persona_popularity_ = _rate(persona_adopted + prior * overall[None, :], persona_at_risk + prior)

    def _score(self, residents: np.ndarray) -> np.ndarray:
        scores = self._blend(self.persona_tags_[residents])
        scores[self.consumed_[residents].toarray()] = -np.inf
        return scores

    def _blend(self, tags: np.ndarray) -> np.ndarray:
        """Scores from persona tags (n × personas): the highest rate among the resident's personas (a service
        one of their personas takes up is a candidate, not diluted by the others), blended with the overall
        rate; the overall rate alone without a persona."""
        rates = np.where(tags[:, :, None], self.persona_popularity_[None, :, :], -np.inf).max(axis=1)
        w = self.config.global_weight
        blended = (1.0 - w) * rates + w * self.popularity_[None, :]
        return np.where(tags.any(axis=1, keepdims=True), blended, self.popularity_[None, :])


def first_use_matrices(dataset: Dataset, start: pd.Timestamp) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(residents × services) bool: first consumed (book, use or rate) on or after ``start``, and before it."""
    events = dataset.interactions
    events = events[events[C.EVENT].astype(str).isin(CONSUMED_EVENTS)]
    first = events.groupby([C.RESIDENT, C.SERVICE], observed=True)[C.TIMESTAMP].min().reset_index()
    rows = dataset.resident_ids.to_internal(first[C.RESIDENT])
    cols = dataset.service_ids.to_internal(first[C.SERVICE])
    late = (first[C.TIMESTAMP] >= start).to_numpy()
    shape = (len(dataset.resident_ids), len(dataset.service_ids))

    def matrix(keep: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(int(keep.sum()), dtype=bool), (rows[keep], cols[keep])), shape=shape)

    return matrix(late), matrix(~late)


def _rate(adopted: np.ndarray, at_risk: np.ndarray) -> np.ndarray:
    return np.divide(adopted, at_risk, out=np.zeros_like(adopted, dtype=np.float64), where=at_risk > 0)


__all__ = ["AdoptionConfig", "AdoptionRecommender", "first_use_matrices"]
