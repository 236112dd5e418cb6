"""Bound the history in time: stray rows dated in the future or the distant past are dropped, counted and warned.

One interaction dated 2099 would move every time window ("the last 4 weeks" would end in 2099) and one dated
1970 would stretch every "since the first event". The history therefore ends at a stated *now* (default: the
clock plus :data:`~features.schema.CLOCK_SKEW`) and starts no earlier than
:data:`~features.schema.EARLIEST_EVENT`. Rows outside are never used, and never dropped silently: each drop
raises a :class:`~features.errors.StrayRowsWarning` naming the count and the bounds, and the count is kept in
:attr:`Dataset.dropped <features.dataset.Dataset.dropped>` under :data:`OUT_OF_TIME`.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.dataset import Dataset
from features.errors import StrayRowsWarning
from features.local_time import TIMEZONE, now_local
from features.schema import CLOCK_SKEW, EARLIEST_EVENT

#: Key of :attr:`Dataset.dropped` counting the interactions dropped for their time.
OUT_OF_TIME: Final = "interactions_out_of_time"


def latest_allowed(now: pd.Timestamp | datetime | str | None = None) -> pd.Timestamp:
    """The end of the history (exclusive): ``now`` as stated, else the local clock plus the allowed skew.

    Parameters
    ----------
    now : timestamp, optional
        A stated "now" in local time (Asia/Shanghai), e.g. from ``--now``; taken as is.

    Returns
    -------
    pandas.Timestamp
        Naive local time.
    """
    if now is not None:
        stated = pd.Timestamp(now)
        if stated.tzinfo is not None:
            stated = stated.tz_convert(TIMEZONE).tz_localize(None)
        return stated
    return pd.Timestamp(now_local()) + CLOCK_SKEW


def in_time(stamps: pd.Series, now: pd.Timestamp | datetime | str | None = None) -> np.ndarray:
    """Which timestamps lie in ``[EARLIEST_EVENT, latest_allowed(now))`` (missing ones count as outside)."""
    end = latest_allowed(now)
    values = pd.to_datetime(stamps).to_numpy(dtype="datetime64[ns]")
    return (values >= np.datetime64(EARLIEST_EVENT)) & (values < np.datetime64(end))


def warn_out_of_time(count: int, what: str, now: pd.Timestamp | datetime | str | None = None) -> None:
    """Warn that ``count`` rows of ``what`` were dropped for their time (nothing when ``count`` is 0)."""
    if count:
        warnings.warn(f"{count} {what}(s) dated after {latest_allowed(now):%Y-%m-%d %H:%M:%S} or before "
                      f"{EARLIEST_EVENT:%Y-%m-%d} were dropped and counted; pass --now to state the end of the "
                      "history", StrayRowsWarning, stacklevel=3)


def bound_history(dataset: Dataset, now: pd.Timestamp | datetime | str | None = None) -> Dataset:
    """``dataset`` without the interactions dated at or after ``now`` or before the earliest allowed time.

    Parameters
    ----------
    dataset : Dataset
    now : timestamp, optional
        The end of the history (exclusive), local time. Default: the clock plus the allowed skew.

    Returns
    -------
    Dataset
        The same dataset when nothing is out of time; otherwise a copy whose ``dropped`` adds the count
        under :data:`OUT_OF_TIME` (a warning names it too).
    """
    keep = in_time(dataset.interactions[C.TIMESTAMP], now)
    dropped = int((~keep).sum())
    if not dropped:
        return dataset
    warn_out_of_time(dropped, "interaction", now)
    events = dataset.interactions[keep]
    order = np.argsort(events[C.TIMESTAMP].to_numpy(), kind="stable")  # sorted already, unless built by hand
    counts = {**dataset.dropped, OUT_OF_TIME: dataset.dropped.get(OUT_OF_TIME, 0) + dropped}
    return replace(dataset, interactions=events.iloc[order].reset_index(drop=True), dropped=counts)
