"""Where the hybrid's ranker gets its labels: a label strategy is configuration of the one hybrid.

A strategy turns the history before the cut-off into *label stages*. Each stage says on which history (and up
to which cut-off) the generators and features are fitted, and which (resident, service) pairs are the ranker's
positive labels for the candidates those parts then propose:

* :class:`TimeWindowLabels` — the weeks just before the cut-off are the labels, everything before them the
  history (a community platform's time-ordered events); with ``label_windows`` > 1 the same for earlier windows
  of ``label_weeks``, newest first. Relevance is graded by event (click 1, book 2, use 3, a rating by its stars).
* :class:`StratifiedFoldLabels` — the history's interactions are dealt into ``folds`` stratified slices; each
  slice in turn is the labels and the rest the history, so every interaction is a label once (a randomly split
  benchmark such as the published MovieLens protocol, where time carries no split). Relevance is binary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features.columns import Columns as C
from features.dataset import Dataset
from features.sources.movielens import SOURCE_ROW

#: Graded relevance of an event for time-window labels (``rate`` uses the rating).
EVENT_RELEVANCE = {"click": 1, "book": 2, "use": 3}


class TimeWindowLabels(BaseModel):
    """Labels from the last weeks before the cut-off.

    Attributes
    ----------
    label_weeks : int
        Length of one label window.
    label_windows : int
        Consecutive windows of ``label_weeks`` the ranker trains on, newest first: window ``i`` labels the weeks
        ``[cutoff − (i+1)·label_weeks, cutoff − i·label_weeks)`` with generators and features fitted before
        them. More windows give the ranker more (older) examples at the cost of a generator fit each; windows
        without earlier history are skipped.
    max_label_residents : int
        At most this many labelled residents per window (a random sample, seeded).
    shown_negatives : bool
        Services shown to a resident in the label window (``impression`` events) and not taken up join the
        ranker's rows as negatives, even when no generator proposed them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["time_window"] = "time_window"
    label_weeks: int = Field(3, ge=1)
    label_windows: int = Field(1, ge=1, le=6)
    max_label_residents: int = Field(15_000, ge=100)
    shown_negatives: bool = True


class StratifiedFoldLabels(BaseModel):
    """Labels from ``folds`` stratified held-out slices of the history, each held out once.

    Attributes
    ----------
    folds : int
        Number of slices; every interaction is a label in exactly one of them.
    stratify_by : {"service", "resident"}
        Each service's (or resident's) interactions are spread evenly over the folds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["stratified_folds"] = "stratified_folds"
    folds: int = Field(4, ge=2, le=20)
    stratify_by: Literal["service", "resident"] = "service"


LabelStrategy = Annotated[TimeWindowLabels | StratifiedFoldLabels, Field(discriminator="kind")]
#: Top-level ``[hybrid]`` keys of the time-window strategy, accepted there for configs written before strategies.
TIME_WINDOW_KEYS = ("label_weeks", "label_windows", "max_label_residents", "shown_negatives")


@dataclass(frozen=True)
class LabelStage:
    """One round of ranker rows: fit the parts on ``history`` before ``cutoff``, label with ``labels``.

    ``labels`` holds distinct ``resident_id, service_id, relevance`` (> 0) rows; ``window`` the raw events of a
    time window (for shown negatives), None for folds. A ``required`` stage without labels is an error; the
    others are skipped.
    """

    history: Dataset
    cutoff: pd.Timestamp
    labels: pd.DataFrame
    window: pd.DataFrame | None
    required: bool
    description: str


class TrainingRows(NamedTuple):
    """The ranker's labelled candidate rows (see :meth:`~recommenders.hybrid.HybridRecommender.training_rows`):
    features, relevance, resident group of each row, the number of label stages and the share of labels among
    the candidates."""

    features: pd.DataFrame
    relevance: np.ndarray
    groups: np.ndarray
    stages: int
    recall: float


def label_stages(strategy: TimeWindowLabels | StratifiedFoldLabels, dataset: Dataset, cutoff: pd.Timestamp,
                 seed: int) -> Iterator[LabelStage]:
    """The stages of ``strategy`` over ``dataset`` (already cut at ``cutoff``)."""
    if isinstance(strategy, TimeWindowLabels):
        yield from _time_windows(strategy, dataset, cutoff)
    else:
        for number, (history, held_out) in enumerate(stratified_folds(dataset, strategy.folds, seed,
                                                                      strategy.stratify_by)):
            labels = held_out[[C.RESIDENT, C.SERVICE]].astype(str).drop_duplicates().assign(relevance=1)
            yield LabelStage(history, cutoff, labels.reset_index(drop=True), None, False,
                             f"fold {number + 1} of {strategy.folds}")


def _time_windows(strategy: TimeWindowLabels, dataset: Dataset, cutoff: pd.Timestamp) -> Iterator[LabelStage]:
    first_event = dataset.interactions[C.TIMESTAMP].min()
    stamps = dataset.interactions[C.TIMESTAMP]
    for window in range(strategy.label_windows):
        end = cutoff - pd.Timedelta(weeks=strategy.label_weeks * window)
        start = end - pd.Timedelta(weeks=strategy.label_weeks)
        if window and not start > first_event:
            return  # no history before this window to fit its generators on
        events = dataset.interactions[(stamps >= start) & (stamps < end)]
        yield LabelStage(dataset, start, window_labels(events), events, window == 0,
                         f"between {start} and {end}")


def window_labels(window: pd.DataFrame) -> pd.DataFrame:
    """Distinct positive (resident, service) pairs of a window's events with their best graded relevance."""
    event = window[C.EVENT].astype(str)
    relevance = event.map(EVENT_RELEVANCE).fillna(0).to_numpy(dtype=np.int32)
    rating = window[C.RATING].to_numpy(dtype=float, na_value=np.nan)
    relevance = np.where(event.to_numpy() == "rate", np.where(rating >= 4, 3, np.where(rating <= 2, 0, 2)),
                         relevance)
    frame = pd.DataFrame({C.RESIDENT: window[C.RESIDENT].astype(str).to_numpy(),
                          C.SERVICE: window[C.SERVICE].astype(str).to_numpy(), "relevance": relevance})
    frame = frame[frame["relevance"] > 0]
    return frame.groupby([C.RESIDENT, C.SERVICE], as_index=False)["relevance"].max()


def shown_matrix(window: pd.DataFrame, ids: np.ndarray, services: pd.Index) -> np.ndarray:
    """(residents × services) bool: services shown (``impression`` events of ``window``) to each of ``ids``."""
    shown = np.zeros((len(ids), len(services)), dtype=bool)
    impressions = window[window[C.EVENT].astype(str) == "impression"]
    rows = pd.Index(ids).get_indexer(impressions[C.RESIDENT].astype(str).to_numpy())
    cols = services.get_indexer(impressions[C.SERVICE].astype(str).to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    shown[rows[keep], cols[keep]] = True
    return shown


def stratified_folds(dataset: Dataset, n_folds: int, seed: int,
                     stratify_by: Literal["service", "resident"] = "service") -> list[tuple[Dataset, pd.DataFrame]]:
    """``n_folds`` disjoint held-out slices of ``dataset``'s interactions: ``(rest, slice)`` pairs.

    Each service's (or resident's) interactions, in source-file order when known, are shuffled with ``seed`` and
    dealt round-robin to the folds from a random first fold, so every fold holds about ``1 / n_folds`` of each
    and every interaction is held out exactly once. ``rest`` keeps the residents, services and id maps.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be ≥ 2, got {n_folds}")
    rows = dataset.interactions
    if SOURCE_ROW in rows.columns:
        rows = rows.sort_values(SOURCE_ROW, kind="stable")
    codes, _ = pd.factorize(rows[C.SERVICE if stratify_by == "service" else C.RESIDENT], sort=True)
    random = np.random.RandomState(seed)
    order = np.lexsort((random.rand(len(rows)), codes))
    start = random.randint(0, n_folds, codes.max() + 1 if len(codes) else 0)
    fold = np.empty(len(rows), dtype=np.int64)
    fold[order] = (_position_in_run(codes[order]) + start[codes[order]]) % n_folds
    return [(with_interactions(dataset, rows[fold != f]), rows[fold == f]) for f in range(n_folds)]


def with_interactions(dataset: Dataset, interactions: pd.DataFrame) -> Dataset:
    """``dataset`` holding only ``interactions`` (a row subset), with the same residents, services and id maps."""
    ordered = interactions.sort_values(C.TIMESTAMP, kind="stable").reset_index(drop=True)
    return dataclasses.replace(dataset, interactions=ordered)


def _position_in_run(sorted_codes: np.ndarray) -> np.ndarray:
    n = len(sorted_codes)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if n else np.zeros(0, np.int64)
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


__all__ = ["EVENT_RELEVANCE", "LabelStage", "LabelStrategy", "StratifiedFoldLabels", "TimeWindowLabels", "TrainingRows",
           "label_stages", "shown_matrix", "stratified_folds", "window_labels", "with_interactions"]
