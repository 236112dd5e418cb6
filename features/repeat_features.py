"""Repeat-consumption features: how often and how regularly a resident comes back to a service.

A resident *consumes* a service when they book, use or rate it. Their *occasions* with it are the most distinct
days with one kind of consuming event (a booking and its use on another day are one occasion, two uses on two
days are two), the same definition :mod:`recommenders.repeat` uses to decide what is not listed again.

Features (cross family ``repeat_<stat>``): occasions before the cut-off, in its last 4 and 8 weeks, days since
the last consuming event, the mean interval between occasions and the due-ness (days since last / mean
interval: about 1 when the resident's habit says they are due again). Service feature ``service_repeat_rate``:
the share of the service's consumers with two or more occasions (its category's pooled share where fewer than
:data:`MIN_CONSUMERS` consumed it). Together with ``service_popularity`` these are the ranker's repeat features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.columns import Vocab
from features.feature_registry import register, sorted_distinct

if TYPE_CHECKING:
    from features.cross_features import CrossContext
    from features.service_features import ServiceContext

CONSUMING = np.array([Vocab.EVENTS.index(e) for e in ("book", "use", "rate")], dtype=np.int64)
MIN_CONSUMERS = 20
_KINDS = len(CONSUMING)
_DAYS = 1 << 22  # composite key stride: days since the epoch fit well below it
_NS_PER_DAY = 86_400_000_000_000
_STATS = ("uses", "uses_4w", "uses_8w", "days_since_last", "mean_interval", "dueness")


def occasion_keys(pair: np.ndarray, event: np.ndarray, timestamp: np.ndarray) -> np.ndarray:
    """Sorted distinct ``(pair × kinds + kind) × 2**22 + day`` keys of the consuming events.

    Parameters
    ----------
    pair : ndarray of int64
        Any non-negative pair key per event (e.g. ``resident * n_services + service``).
    event : ndarray
        Event index in :attr:`Vocab.EVENTS`.
    timestamp : ndarray of int64
        Nanoseconds since the epoch.
    """
    kind = np.searchsorted(CONSUMING, event.astype(np.int64))
    consuming = (kind < _KINDS) & (CONSUMING[np.minimum(kind, _KINDS - 1)] == event)
    day = timestamp[consuming] // _NS_PER_DAY
    return np.unique((pair[consuming].astype(np.int64) * _KINDS + kind[consuming]) * _DAYS + day)


def pair_occasions(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pair keys of :func:`occasion_keys` and their occasions (most distinct days of one kind)."""
    pair_kind, days = sorted_distinct(keys // _DAYS)
    pairs, starts = np.unique(pair_kind // _KINDS, return_index=True)
    if not len(pairs):
        return pairs, np.zeros(0, dtype=np.int64)
    return pairs, np.maximum.reduceat(days, starts)


def _count(keys: np.ndarray, pair_kind: np.ndarray, low_day: np.ndarray | int, high_day: np.ndarray | int
           ) -> np.ndarray:
    return (np.searchsorted(keys, pair_kind * _DAYS + high_day, "left")
            - np.searchsorted(keys, pair_kind * _DAYS + low_day, "left"))


def repeat_stats(keys: np.ndarray, pairs: np.ndarray, cutoff: pd.Timestamp) -> np.ndarray:
    """(len(pairs), 6) float64: the ``repeat_<stat>`` columns of the queried pair keys."""
    now = cutoff.value // _NS_PER_DAY
    uses = np.zeros((len(pairs), 3), dtype=np.float64)
    first = np.full(len(pairs), np.inf)
    last = np.full(len(pairs), -np.inf)
    for kind in range(_KINDS):
        pk = pairs.astype(np.int64) * _KINDS + kind
        for column, weeks in enumerate((None, 4, 8)):
            low = 0 if weeks is None else now - 7 * weeks
            uses[:, column] = np.maximum(uses[:, column], _count(keys, pk, low, _DAYS - 1))
        lo = np.searchsorted(keys, pk * _DAYS, "left")
        hi = np.searchsorted(keys, (pk + 1) * _DAYS, "left")
        has = hi > lo
        first[has] = np.minimum(first[has], keys[lo[has]] % _DAYS)
        last[has] = np.maximum(last[has], keys[hi[has] - 1] % _DAYS)
    since = np.where(np.isfinite(last), now - last, np.nan)
    interval = np.divide(last - first, uses[:, 0] - 1, out=np.full(len(pairs), np.nan), where=uses[:, 0] >= 2)
    dueness = np.divide(since, interval, out=np.full(len(pairs), np.nan), where=interval > 0)
    return np.column_stack([uses, since, interval, dueness])


@register("repeat_<stat>", "cross",
          "Repeat use of this service by the resident before the cut-off: uses (occasions: distinct days of one "
          "consuming kind), uses_4w / uses_8w (in the last 4 / 8 weeks), days_since_last (NaN if never), "
          "mean_interval (days between occasions; NaN under 2), dueness (days_since_last / mean_interval).",
          members=_STATS)
def _repeat(ctx: CrossContext) -> np.ndarray:
    tables = ctx.tables
    return repeat_stats(tables.occasion_keys, ctx.resident_rows * tables.n_services + ctx.service_rows, ctx.cutoff)


@register("service_repeat_rate", "service",
          "Share of the service's consumers (book / use / rate) with two or more occasions before the cut-off; "
          f"its category's pooled share under {MIN_CONSUMERS} consumers; NaN when that is thin too.")
def _service_repeat_rate(ctx: ServiceContext) -> np.ndarray:
    events = ctx.events
    keys = occasion_keys(events.resident * ctx.n + events.service, events.event, events.timestamp)
    pairs, occasions = pair_occasions(keys)
    service = pairs % ctx.n
    consumers = np.bincount(service, minlength=ctx.n).astype(np.float64)
    repeaters = np.bincount(service, weights=(occasions >= 2).astype(np.float64), minlength=ctx.n)
    category = pd.factorize(ctx.services[C.CATEGORY].astype(object).fillna("").to_numpy())[0]
    pooled_c = pd.Series(consumers).groupby(category).transform("sum").to_numpy()
    pooled_r = pd.Series(repeaters).groupby(category).transform("sum").to_numpy()
    own = np.divide(repeaters, consumers, out=np.full(ctx.n, np.nan), where=consumers >= MIN_CONSUMERS)
    pooled = np.divide(pooled_r, pooled_c, out=np.full(ctx.n, np.nan), where=pooled_c >= MIN_CONSUMERS)
    return np.where(np.isnan(own), pooled, own)
