"""Train / validation / test splits.

* :func:`time_split` — Linli's own protocol: the last weeks of the data are the future the model is judged on.
  Fit on everything before a window, evaluate on the window's positive events.
* :func:`stratified_split` — Microsoft Recommenders' ``python_stratified_split`` (random, per item or user),
  reproduced so benchmark results on public data (MovieLens) can be compared with published numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.dataset import Dataset
from training.relevance import NEGATIVE_RATING, POSITIVE_EVENTS, EventStrengths, relevance_frame

Window = Literal["train", "validation", "test"]
WINDOWS: Final[tuple[Window, ...]] = ("train", "validation", "test")


#: Fewest residents with positive events a retrain needs in each of its windows (labels and test).
MIN_TRAIN_RESIDENTS: Final = 10


class SplitError(ValueError):
    """The data cannot be split as asked (too short, or a window without events)."""


class NotEnoughResidentsError(SplitError):
    """Too few residents have positive events in the weeks a retrain learns and is judged on."""


@dataclass(frozen=True)
class TimeSplit:
    """Cut-offs of a time-based split; windows are half-open ``[start, stop)``.

    ``train`` is ``[start, validation_start)``, ``validation`` is ``[validation_start, test_start)`` and
    ``test`` is ``[test_start, end)``. Tune on validation with models fitted before ``validation_start``;
    fit the final model on everything before :attr:`train_until` and report the test window.

    Attributes
    ----------
    start : pandas.Timestamp
        Time of the first event.
    validation_start, test_start, end : pandas.Timestamp
        Window boundaries; ``end`` is after the last event (midnight after its day by default).
    """

    start: pd.Timestamp
    validation_start: pd.Timestamp
    test_start: pd.Timestamp
    end: pd.Timestamp

    @property
    def train_until(self) -> pd.Timestamp:
        """Cut-off for fitting the final model (the test start): pass it to ``Recommender.fit``."""
        return self.test_start

    def bounds(self, window: Window) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(start, stop)`` of a window."""
        edges = {"train": (self.start, self.validation_start),
                 "validation": (self.validation_start, self.test_start),
                 "test": (self.test_start, self.end)}
        if window not in edges:
            raise SplitError(f"unknown window {window!r}; choose from {list(WINDOWS)}")
        return edges[window]

    def events(self, dataset: Dataset, window: Window) -> pd.DataFrame:
        """The interactions of ``dataset`` inside ``window``."""
        lo, hi = self._rows(dataset, window)
        return dataset.interactions.iloc[lo:hi]

    def truth(self, dataset: Dataset, window: Window = "test", events: EventStrengths = POSITIVE_EVENTS,
              negative_rating: float = NEGATIVE_RATING) -> pd.DataFrame:
        """Relevance frame (``resident_id, service_id, relevance``) of the window's positive events.

        Parameters
        ----------
        dataset : Dataset
        window : {"train", "validation", "test"}, default "test"
        events : sequence of str or mapping, default ``("book", "use", "rate")``
            Positive events; relevance is the strength of a pair's strongest one (book 1, use 2, rate 3).
        negative_rating : float, default 2.0
            A ``rate`` event with a rating at or below this is not positive.

        Raises
        ------
        SplitError
            If the window holds no positive event.
        """
        truth = relevance_frame(self.events(dataset, window), events, negative_rating)
        if truth.empty:
            start, stop = self.bounds(window)
            raise SplitError(f"the {window} window [{start}, {stop}) has no positive events "
                             f"({', '.join(events)}); widen the window or choose other positive events")
        return truth

    def cold_start(self, dataset: Dataset, window: Window = "test") -> pd.Index:
        """Residents active in ``window`` who had no event of any kind before the window's start.

        Returns
        -------
        pandas.Index
            Unique resident ids, sorted.
        """
        lo, hi = self._rows(dataset, window)
        ids = dataset.interactions[C.RESIDENT]
        active = pd.Index(pd.unique(ids.iloc[lo:hi]))
        seen = pd.Index(pd.unique(ids.iloc[:lo]))
        return active[~active.isin(seen)].sort_values().rename(C.RESIDENT)

    def _rows(self, dataset: Dataset, window: Window) -> tuple[int, int]:
        start, stop = self.bounds(window)
        times = dataset.interactions[C.TIMESTAMP].to_numpy()
        lo, hi = np.searchsorted(times, [np.datetime64(start), np.datetime64(stop)], side="left")
        return int(lo), int(hi)


def time_split(dataset: Dataset, test_weeks: int = 4, validation_weeks: int = 2,
               end: pd.Timestamp | str | None = None) -> TimeSplit:
    """Split by time: the last ``test_weeks`` before ``end`` are the test window, the weeks before validation.

    Parameters
    ----------
    dataset : Dataset
    test_weeks : int, default 4
        Length of the test window (≥ 1).
    validation_weeks : int, default 2
        Length of the validation window just before it (0 for none).
    end : timestamp, optional
        End of the data (exclusive). Default: midnight after the day of the last event.

    Raises
    ------
    SplitError
        If there are no events, the data is not longer than both windows together, or the test or
        validation window holds no event.
    """
    if test_weeks < 1 or validation_weeks < 0:
        raise SplitError(f"need test_weeks ≥ 1 and validation_weeks ≥ 0, got {test_weeks} and {validation_weeks}")
    times = dataset.interactions[C.TIMESTAMP]
    if times.empty:
        raise SplitError("the dataset has no interactions to split; load events first")
    first, last = times.iloc[0], times.iloc[-1]
    stop = dataset.history_end() if end is None else pd.Timestamp(end)
    test_start = stop - pd.Timedelta(weeks=test_weeks)
    validation_start = test_start - pd.Timedelta(weeks=validation_weeks)
    if validation_start <= first:
        raise SplitError(
            f"the data is too short: events run from {first} to {last}, but {test_weeks} test and "
            f"{validation_weeks} validation week(s) before {stop} leave no training history; "
            "use shorter windows or more history")
    split = TimeSplit(first, validation_start, test_start, stop)
    for window in (("validation", "test") if validation_weeks else ("test",)):
        lo, hi = split._rows(dataset, window)
        if hi == lo:
            start, stop_ = split.bounds(window)
            raise SplitError(f"the {window} window [{start}, {stop_}) has no events; "
                             "check `end` or choose other window lengths")
    return split


def require_residents(dataset: Dataset, test_weeks: int, label_weeks: int,
                      minimum: int = MIN_TRAIN_RESIDENTS, events: EventStrengths = POSITIVE_EVENTS) -> None:
    """Refuse, with a sentence naming what is missing, data too thin to train and judge a ranker on.

    A retrain learns its ranker from the residents' positive events in the ``label_weeks`` before the test
    window and judges it on the last ``test_weeks``; each needs events of at least ``minimum`` residents.

    Parameters
    ----------
    dataset : Dataset
    test_weeks, label_weeks : int
        Lengths of the test window and of the ranker's label window before it.
    minimum : int, default :data:`MIN_TRAIN_RESIDENTS`
    events : sequence of str, default ``("book", "use", "rate")``

    Raises
    ------
    NotEnoughResidentsError
        "at least N residents with book, use or rate events in the last M weeks ... are needed to train;
        found K".
    """
    stop = dataset.history_end()
    test_start = stop - pd.Timedelta(weeks=test_weeks)
    label_start = test_start - pd.Timedelta(weeks=label_weeks)
    names = list(events)
    kinds = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    frame = dataset.interactions
    positive = frame[frame[C.EVENT].astype("string").isin(names).fillna(False).to_numpy(dtype=bool)]
    stamps = positive[C.TIMESTAMP]
    for lo, hi, what in ((label_start, stop, f"the last {label_weeks + test_weeks} weeks"),
                         (label_start, test_start, f"the {label_weeks} weeks before the test window"),
                         (test_start, stop, f"the {test_weeks} test weeks")):
        found = positive[(stamps >= lo) & (stamps < hi)][C.RESIDENT].nunique()
        if found < minimum:
            raise NotEnoughResidentsError(
                f"at least {minimum} residents with {kinds} events in {what} ({lo:%Y-%m-%d} to {hi:%Y-%m-%d}) "
                f"are needed to train; found {found}")


_ITEM_SIDE: Final = {"item": True, "service": True, "user": False, "resident": False}


def stratified_split(
    interactions: pd.DataFrame, ratio: float = 0.75, seed: int = 42, min_rating: int = 1,
    filter_by: Literal["item", "user", "service", "resident"] = "item", *,
    variant: Literal["current", "legacy"] = "current",
    resident_col: str = C.RESIDENT, service_col: str = C.SERVICE,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random split stratified per service (item) or resident (user): Microsoft Recommenders' protocol.

    Reproduces ``recommenders.datasets.python_splitters.python_stratified_split`` for a single float ratio
    (the protocol of its MovieLens benchmark: ``ratio=0.75, min_rating=1, filter_by="item"``, seed 42):

    1. With ``min_rating > 1``, drop the rows of groups (items or users) with fewer than ``min_rating`` rows.
    2. Order each group's rows at random and put the first ``round(ratio · n)`` in train (``round`` is
       round-half-to-even, as Python's and NumPy's), the rest in test.

    The shuffling is reproduced exactly for both published implementations:

    * ``variant="current"`` (recommenders ≥ 1.1, vectorised in 2022): one global stream
      ``np.random.seed(seed); np.random.rand(n)`` gives every row a key; rows are sorted by (group, key)
      and the group's cumulative count decides. Rows come back in that order, original index kept.
    * ``variant="legacy"`` (``reco_utils``, the 2019–2021 benchmark notebooks): every group is shuffled
      on its own with ``group.sample(frac=1, random_state=seed)``; rows come back group by group.

    So the same rows land in train and test as in the original, given the same input rows in the same
    order. Not reproduced: list ratios (multi-way splits) and the original's side effect of adding a
    ``random`` column to the caller's frame. Row *order* matches only where group ids sort the same way
    (MovieLens ids are integers there; if they become strings here, ``"10"`` sorts before ``"9"``);
    membership does not depend on it.

    Parameters
    ----------
    interactions : pandas.DataFrame
        One row per rating or event; needs ``resident_col`` and ``service_col``.
    ratio : float, default 0.75
        Share of each group's rows that goes to train, strictly between 0 and 1.
    seed : int, default 42
    min_rating : int, default 1
        Minimum number of rows of a group (per ``filter_by``) to keep it.
    filter_by : {"item", "user", "service", "resident"}, default "item"
        Stratify (and filter) per service or per resident.
    variant : {"current", "legacy"}, default "current"
    resident_col, service_col : str
        Column names (default Linli's ``resident_id`` and ``service_id``).

    Returns
    -------
    train, test : pandas.DataFrame
        Row subsets of ``interactions`` (index labels kept).
    """
    if not isinstance(ratio, float) or not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must be a float strictly between 0 and 1, got {ratio!r}")
    if int(min_rating) != min_rating or min_rating < 1:
        raise ValueError(f"min_rating must be an integer ≥ 1, got {min_rating!r}")
    if filter_by not in _ITEM_SIDE:
        raise ValueError(f"filter_by must be one of {list(_ITEM_SIDE)}, got {filter_by!r}")
    if variant not in ("current", "legacy"):
        raise ValueError(f"variant must be 'current' or 'legacy', got {variant!r}")
    missing = [c for c in (resident_col, service_col) if c not in interactions.columns]
    if missing:
        raise ValueError(f"interactions lack column(s) {missing}; pass resident_col/service_col")
    column = service_col if _ITEM_SIDE[filter_by] else resident_col
    data = interactions
    if data[column].isna().any():
        raise ValueError(f"column {column!r} has missing ids; drop or fill those rows first")
    if min_rating > 1:
        data = data[(data.groupby(column, sort=False)[column].transform("size") >= min_rating).to_numpy()]
    codes, _ = pd.factorize(data[column], sort=True)  # code order = sorted group ids
    if variant == "current":
        keys = np.random.RandomState(seed).rand(len(data))  # == np.random.seed(seed); np.random.rand(n)
        order = np.lexsort((keys, codes))
        slot = _rank_in_group(codes[order])
    else:
        order, slot = _legacy_slots(codes, seed)
    sizes = np.bincount(codes)[codes[order]]
    in_train = slot < np.round(ratio * sizes)
    rows = data.iloc[order]
    return rows[in_train], rows[~in_train]


def _rank_in_group(sorted_codes: np.ndarray) -> np.ndarray:
    """0-based position of each row inside its run of equal codes (codes already sorted)."""
    n = len(sorted_codes)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if n else np.array([], int)
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - run_start


def _legacy_slots(codes: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row order and shuffled slot of ``group.sample(frac=1, random_state=seed)`` applied to every group.

    ``sample`` draws ``RandomState(seed).choice(n, n, replace=False)``, i.e. ``permutation(n)``: the
    permutation depends only on the group's size, so it is drawn once per distinct size.
    """
    by_group = np.argsort(codes, kind="stable")  # original row order inside each group, as groupby keeps it
    within = _rank_in_group(codes[by_group])
    sizes = np.bincount(codes)[codes[by_group]]
    slot = np.empty(len(codes), dtype=np.int64)
    by_size = np.argsort(sizes, kind="stable")
    distinct, first = np.unique(sizes[by_size], return_index=True)
    for size, lo, hi in zip(distinct, first, np.r_[first[1:], len(by_size)], strict=True):
        drawn = np.random.RandomState(seed).choice(int(size), int(size), replace=False)
        inverse = np.empty(int(size), dtype=np.int64)
        inverse[drawn] = np.arange(int(size))
        block = by_size[lo:hi]
        slot[block] = inverse[within[block]]
    order = np.lexsort((slot, codes[by_group]))
    return by_group[order], slot[order]
