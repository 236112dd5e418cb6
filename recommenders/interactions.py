"""From events to the resident × service matrices every recommender learns from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from features.columns import Columns as C
from features.columns import Vocab
from features.dataset import Dataset
from features.event_weights import policy_weights

_DEFAULTS = policy_weights("interactions")


class EventWeights(BaseModel):
    """Confidence that an event shows interest. Ratings scale a ``rate`` event:
    weight × (rating − rating_pivot) / (5 − rating_pivot); with the default pivot 2 that is
    weight × (rating − 2) / 3, so a 1-star rating counts against the service. Pivot 0 makes every rating a
    positive signal growing with the stars (public rating data sets, where any rating is an interaction).

    The defaults are the ``interactions`` policy of :data:`features.event_weights.EVENT_WEIGHTS`:
    collaborative filtering learns only from actions, so an impression weighs 0 (the feature pipeline's
    ``features`` policy counts it as exposure, 0.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    impression: float = _DEFAULTS["impression"]
    view: float = _DEFAULTS["view"]
    click: float = _DEFAULTS["click"]
    book: float = _DEFAULTS["book"]
    use: float = _DEFAULTS["use"]
    rate: float = _DEFAULTS["rate"]
    rating_pivot: float = Field(2.0, ge=0.0, lt=5.0)

    def by_event(self) -> np.ndarray:
        """Weights in the order of :data:`features.Vocab.EVENTS`."""
        return np.array([getattr(self, e) for e in Vocab.EVENTS], dtype=np.float64)


def event_weights(events: pd.DataFrame, weights: EventWeights) -> np.ndarray:
    """Weight of every event row (rating-scaled for ``rate`` events)."""
    codes = pd.Categorical(events[C.EVENT], categories=list(Vocab.EVENTS)).codes
    w = weights.by_event()[codes]
    rating = events[C.RATING].to_numpy(dtype=float, na_value=np.nan)
    is_rate = codes == Vocab.EVENTS.index("rate")
    pivot = weights.rating_pivot
    w = np.where(is_rate & ~np.isnan(rating), w * (rating - pivot) / (5.0 - pivot), w)
    return w


def interaction_matrix(dataset: Dataset, events: pd.DataFrame | None = None,
                       weights: EventWeights | None = None, *, positive_only: bool = True,
                       half_life_days: float | None = None, now: pd.Timestamp | None = None) -> sp.csr_matrix:
    """Summed event weights as a (residents × services) CSR matrix in the dataset's internal id order.

    Parameters
    ----------
    dataset : Dataset
        Gives the id maps (all residents and services, with or without events).
    events : pandas.DataFrame, optional
        The events to count; default ``dataset.interactions``.
    weights : EventWeights, optional
    positive_only : bool, default True
        Clip summed weights at 0 (a resident who disliked a service has no positive signal for it).
    half_life_days : float, optional
        Recency decay: an event ``d`` days before ``now`` counts ``0.5 ** (d / half_life_days)``.
    now : pandas.Timestamp, optional
        Reference time of the decay (the cutoff); default the last event's timestamp.
    """
    events = dataset.interactions if events is None else events
    weights = weights or EventWeights()
    rows = dataset.resident_ids.to_internal(events[C.RESIDENT])
    cols = dataset.service_ids.to_internal(events[C.SERVICE])
    values = event_weights(events, weights)
    if half_life_days is not None:
        values = values * recency_decay(events[C.TIMESTAMP], half_life_days, now)
    matrix = sp.csr_matrix((values, (rows, cols)),
                           shape=(len(dataset.resident_ids), len(dataset.service_ids)), dtype=np.float64)
    matrix.sum_duplicates()
    if positive_only:
        matrix.data = np.maximum(matrix.data, 0.0)
        matrix.eliminate_zeros()
    return matrix


def recency_decay(timestamps: pd.Series, half_life_days: float, now: pd.Timestamp | None = None) -> np.ndarray:
    """``0.5 ** (age / half_life_days)`` of every timestamp, age in days before ``now`` (never negative).

    ``now`` defaults to the last timestamp.
    """
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days}")
    stamps = timestamps.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if not len(stamps):
        return np.ones(0)
    reference = pd.Timestamp(now).value if now is not None else int(stamps.max())
    age_days = np.maximum(reference - stamps, 0) / 86_400e9
    return np.exp2(-age_days / half_life_days)
