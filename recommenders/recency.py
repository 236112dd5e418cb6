"""Time-aware popularity: how much an event counts by its age, and the choice of that recency on validation.

A :class:`Recency` is all time (every event counts 1), a window (events in the last ``days`` count 1, older ones
0) or a half-life (an event ``d`` days old counts ``0.5 ** (d / days)``). :func:`choose_recency` picks one from
:data:`RECENCY_GRID` on a validation window cut from the **end of the training history** (the weeks just before
the fit's cutoff), never from anything later: the candidates are counted on the history before that window and
judged by NDCG@k of the lists they give the window's residents, seen services removed as the model removes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.interactions import EventWeights, event_weights, interaction_matrix

RecencyKind = Literal["all", "window", "half_life"]
#: Events that mean a resident consumed a service (and so, for a one-off, will not need it again).
CONSUMED_EVENTS: tuple[str, ...] = ("book", "use", "rate")


@dataclass(frozen=True)
class Recency:
    """How an event's age in days before the cutoff weighs its count.

    Attributes
    ----------
    kind : {"all", "window", "half_life"}
    days : float or None
        Window length or half-life; ``None`` for ``all``.
    """

    kind: RecencyKind = "all"
    days: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("all", "window", "half_life"):
            raise ValueError(f"recency kind must be 'all', 'window' or 'half_life', got {self.kind!r}")
        if self.kind != "all" and (self.days is None or self.days <= 0):
            raise ValueError(f"recency {self.kind!r} needs days > 0, got {self.days}")

    def label(self) -> str:
        """``all``, ``window_14d`` or ``half_life_28d``: the choice as it is logged."""
        return "all" if self.kind == "all" else f"{self.kind}_{self.days:g}d"

    def weights(self, timestamps: pd.Series, now: pd.Timestamp) -> np.ndarray:
        """The weight of every event by its age before ``now`` (ages below zero count as zero)."""
        stamps = timestamps.to_numpy(dtype="datetime64[ns]").view(np.int64)
        if self.kind == "all":
            return np.ones(len(stamps))
        age_days = np.maximum(pd.Timestamp(now).value - stamps, 0) / 86_400e9
        if self.kind == "window":
            return (age_days < float(self.days or 0)).astype(np.float64)
        return np.exp2(-age_days / float(self.days or 1))


#: Candidates of ``recency="auto"``, simplest first (the first wins a tie): all time, windows of 1, 2, 4 and 8
#: weeks, half-lives of 1, 2, 4, 8 and 16 weeks.
RECENCY_GRID: tuple[Recency, ...] = (
    Recency(),
    *(Recency("window", d) for d in (7, 14, 28, 56)),
    *(Recency("half_life", d) for d in (7, 14, 28, 56, 112)),
)


def recent_popularity(dataset: Dataset, weights: EventWeights, recency: Recency, now: pd.Timestamp,
                      events: pd.DataFrame | None = None) -> np.ndarray:
    """Each service's share of the recency-weighted positive interest in ``events`` (default: all of them).

    Returns
    -------
    numpy.ndarray
        (n_services,) float64 summing to 1; all zeros when no event has positive weight.
    """
    events = dataset.interactions if events is None else events
    if not len(events):
        return np.zeros(len(dataset.service_ids))
    value = event_weights(events, weights) * recency.weights(events[C.TIMESTAMP], now)
    cols = dataset.service_ids.to_internal(events[C.SERVICE])
    rows = dataset.resident_ids.to_internal(events[C.RESIDENT])
    pairs = sp.csr_matrix((value, (rows, cols)), shape=(len(dataset.resident_ids), len(dataset.service_ids)))
    pairs.sum_duplicates()
    pairs.data = np.maximum(pairs.data, 0.0)  # a resident who disliked a service adds nothing, never less
    totals = np.asarray(pairs.sum(axis=0), dtype=np.float64).ravel()
    total = totals.sum()
    return totals / total if total > 0 else totals


def consumed_matrix(dataset: Dataset, events: pd.DataFrame | None = None) -> sp.csr_matrix:
    """(residents × services) bool CSR: who booked, used or rated what in ``events`` (default: all)."""
    events = dataset.interactions if events is None else events
    events = events[events[C.EVENT].astype(str).isin(CONSUMED_EVENTS)]
    rows = dataset.resident_ids.to_internal(events[C.RESIDENT])
    cols = dataset.service_ids.to_internal(events[C.SERVICE])
    matrix = sp.csr_matrix((np.ones(len(events), dtype=bool), (rows, cols)),
                           shape=(len(dataset.resident_ids), len(dataset.service_ids)), dtype=bool)
    matrix.sum_duplicates()
    return matrix


@dataclass(frozen=True)
class RecencyChoice:
    """What :func:`choose_recency` chose, and every candidate's validation NDCG (empty when it fell back)."""

    recency: Recency
    validation_ndcg: dict[str, float]
    validation_residents: int


def choose_recency(dataset: Dataset, cutoff: pd.Timestamp, weights: EventWeights, repeatable: np.ndarray, *,
                   validation_weeks: int = 4, k: int = 10, grid: tuple[Recency, ...] = RECENCY_GRID) -> RecencyChoice:
    """The recency of ``grid`` with the best NDCG@k on the last ``validation_weeks`` before ``cutoff``.

    Parameters
    ----------
    dataset : Dataset
        The training history (events before ``cutoff`` only; later events are ignored all the same).
    cutoff : pandas.Timestamp
        The fit's cutoff: the validation window is ``[cutoff − validation_weeks, cutoff)``.
    weights : EventWeights
        Event weights; a validation event of positive weight makes its service relevant.
    repeatable : numpy.ndarray
        (n_services,) bool: services a resident may be shown again after consuming them.
    validation_weeks, k : int
    grid : tuple of Recency

    Returns
    -------
    RecencyChoice
        All time (``Recency()``) when the window has no relevant event or no history precedes it.
    """
    events = dataset.interactions
    start = cutoff - pd.Timedelta(weeks=validation_weeks)
    before = events[events[C.TIMESTAMP] < start]
    window = events[(events[C.TIMESTAMP] >= start) & (events[C.TIMESTAMP] < cutoff)]
    truth = interaction_matrix(dataset, window, weights)
    residents = np.flatnonzero(truth.getnnz(axis=1))
    if not len(before) or not len(residents):
        return RecencyChoice(Recency(), {}, 0)
    truth = truth[residents]
    blocked = consumed_matrix(dataset, before)[residents].toarray() & ~repeatable[None, :]
    scores = {candidate.label(): _ndcg(recent_popularity(dataset, weights, candidate, start, before), blocked,
                                       truth, k) for candidate in grid}
    best = max(grid, key=lambda candidate: scores[candidate.label()])  # max keeps the first of equals
    return RecencyChoice(best, scores, len(residents))


def _ndcg(popularity: np.ndarray, blocked: np.ndarray, truth: sp.csr_matrix, k: int) -> float:
    """Mean binary NDCG@k of one popularity list per resident, blocked services removed."""
    scores = np.where(blocked, -np.inf, popularity[None, :])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    valid = np.isfinite(np.take_along_axis(scores, order, axis=1))
    relevant = (truth.toarray() > 0)
    hits = np.take_along_axis(relevant, order, axis=1) & valid
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.array([discount[:n].sum() for n in np.minimum(relevant.sum(axis=1), k)])
    return float(np.mean((hits * discount[None, :]).sum(axis=1) / ideal))
