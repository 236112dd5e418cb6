"""From events to relevance: which resident–service pairs count as a hit, and how strongly.

A *relevance frame* has one row per (resident, service) pair with a positive event, and columns
``resident_id, service_id, relevance`` (float, > 0). It is the ground truth every ranking metric in
:mod:`training.metrics` compares a recommendation table against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.columns import Vocab

#: Name of the graded-relevance column of a relevance frame.
RELEVANCE: Final = "relevance"
#: Name of the popularity series returned by :func:`service_resident_counts`.
POPULARITY: Final = "popularity"
#: Events that show a resident wants a service (weakest to strongest).
POSITIVE_EVENTS: Final = ("book", "use", "rate")
#: A ``rate`` event with a rating at or below this is a complaint, not a positive signal.
NEGATIVE_RATING: Final = 2.0

EventStrengths = Sequence[str] | Mapping[str, float]


class RelevanceError(ValueError):
    """Events or relevance settings cannot be turned into ground truth."""


def event_strengths(events: EventStrengths = POSITIVE_EVENTS) -> dict[str, float]:
    """Strength of each positive event.

    Parameters
    ----------
    events : sequence of str or mapping of str to float
        A sequence names the positive events; their strengths are 1, 2, 3, ... in the order of
        :data:`features.Vocab.EVENTS` (weak to strong), so the default gives book 1, use 2, rate 3.
        A mapping gives the strengths explicitly (each > 0).

    Raises
    ------
    RelevanceError
        If an event is not in ``Vocab.EVENTS``, a strength is not positive, or no event is given.
    """
    if isinstance(events, str):
        events = (events,)
    unknown = [e for e in events if e not in Vocab.EVENTS]
    if unknown:
        raise RelevanceError(f"unknown event(s) {unknown}; choose from {list(Vocab.EVENTS)}")
    if not events:
        raise RelevanceError(f"name at least one positive event from {list(Vocab.EVENTS)}")
    if isinstance(events, Mapping):
        strengths = {str(e): float(s) for e, s in events.items()}
        bad = {e: s for e, s in strengths.items() if not s > 0}
        if bad:
            raise RelevanceError(f"event strengths must be > 0, got {bad}")
        return strengths
    ordered = [e for e in Vocab.EVENTS if e in set(events)]
    return {e: float(i + 1) for i, e in enumerate(ordered)}


def event_relevance(interactions: pd.DataFrame, events: EventStrengths = POSITIVE_EVENTS,
                    negative_rating: float = NEGATIVE_RATING) -> np.ndarray:
    """Strength of every event row: 0 for non-positive events and for ratings ≤ ``negative_rating``.

    A ``rate`` event without a rating counts as positive.
    """
    strengths = event_strengths(events)
    table = np.array([strengths.get(e, 0.0) for e in Vocab.EVENTS], dtype=np.float64)
    codes = pd.Categorical(interactions[C.EVENT], categories=list(Vocab.EVENTS)).codes
    strength = np.where(codes >= 0, table[codes], 0.0)
    if C.RATING in interactions.columns:
        rating = interactions[C.RATING].to_numpy(dtype=np.float64, na_value=np.nan)
        complaint = (codes == Vocab.EVENTS.index("rate")) & (rating <= negative_rating)
        strength[complaint] = 0.0
    return strength


def relevance_frame(interactions: pd.DataFrame, events: EventStrengths = POSITIVE_EVENTS,
                    negative_rating: float = NEGATIVE_RATING) -> pd.DataFrame:
    """Ground truth from events: each pair's relevance is the strength of its strongest positive event.

    Parameters
    ----------
    interactions : pandas.DataFrame
        Event rows with ``resident_id, service_id, event`` and optionally ``rating``.
    events : sequence of str or mapping of str to float, default ``("book", "use", "rate")``
        The positive events and their strengths (see :func:`event_strengths`).
    negative_rating : float, default 2.0
        A ``rate`` event with a rating at or below this is not positive.

    Returns
    -------
    pandas.DataFrame
        ``resident_id, service_id, relevance``, one row per pair, sorted by resident then service;
        empty (with these columns) when no event is positive.
    """
    strength = event_relevance(interactions, events, negative_rating)
    keep = np.flatnonzero(strength > 0)
    residents, resident_ids = pd.factorize(interactions[C.RESIDENT].iloc[keep], sort=True)
    services, service_ids = pd.factorize(interactions[C.SERVICE].iloc[keep], sort=True)
    # one integer key per pair, ordered by resident then service; keep each pair's strongest event
    key = residents.astype(np.int64) * max(len(service_ids), 1) + services
    order = np.argsort(key, kind="stable")
    key, strength = key[order], strength[keep][order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    first = order[starts]
    return _typed(pd.DataFrame({
        C.RESIDENT: np.asarray(resident_ids, dtype=object)[residents[first]],
        C.SERVICE: np.asarray(service_ids, dtype=object)[services[first]],
        RELEVANCE: np.maximum.reduceat(strength, starts) if len(key) else strength,
    }))


def service_resident_counts(interactions: pd.DataFrame, services: Sequence[str] | pd.Index | None = None,
                            events: EventStrengths = POSITIVE_EVENTS,
                            negative_rating: float = NEGATIVE_RATING) -> pd.Series:
    """Number of distinct residents with a positive event for each service (training popularity).

    Parameters
    ----------
    interactions : pandas.DataFrame
        The training events (cut them before the evaluation window; see :meth:`training.TimeSplit`).
    services : sequence of str, optional
        The whole catalogue; services without positive events get 0. Default: services seen in events.
    events, negative_rating
        As in :func:`relevance_frame`.

    Returns
    -------
    pandas.Series
        Integer counts indexed by ``service_id``, named ``popularity``.
    """
    truth = relevance_frame(interactions, events, negative_rating)
    counts = truth[C.SERVICE].value_counts(sort=False)
    if services is not None:
        counts = counts.reindex(pd.Index(np.asarray(services, dtype=object)), fill_value=0)
    counts.index.name = C.SERVICE
    return counts.astype(np.int64).rename(POPULARITY)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({C.RESIDENT: "string", C.SERVICE: "string", RELEVANCE: np.float64}).reset_index(drop=True)
