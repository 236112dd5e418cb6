"""Bucketed data on a Dask cluster: residents and their interactions shuffled once into resident buckets,
each bucket a validated :class:`~features.dataset.Dataset` held in a worker's memory.

Every bucket holds the whole (small) communities and services tables, its residents and all of their
interactions, in their original order; so the unchanged pandas code (features, personas) runs on a bucket as
it runs on a whole dataset. What spans buckets is computed once here and sent to every worker: the cut-off
(the day after the last interaction anywhere) and the span of the history (from the first interaction
anywhere), without which rates such as events per month would differ from bucket to bucket.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, Future

from features.columns import Columns as C
from features.dataset import Dataset
from features.errors import StrayRowsWarning
from features.time_bounds import OUT_OF_TIME, bound_history, latest_allowed, warn_out_of_time
from privacy.pseudonym import pseudonymise_frames
from scale.buckets import BUCKET, ROW, with_bucket
from scale.cluster import RETRIES
from scale.parts import Part

_NS_PER_DAY = 86_400_000_000_000


@dataclass(frozen=True)
class Bucket:
    """One bucket on a worker: its dataset and each resident's row in the whole residents table."""

    dataset: Dataset
    rows: np.ndarray


@dataclass(frozen=True)
class BucketedData:
    """Futures of the buckets plus the global aggregates every bucket needs.

    Attributes
    ----------
    buckets : list of distributed.Future
        One :class:`Bucket` each.
    n_residents : int
        Residents over all buckets.
    cutoff : pandas.Timestamp
        Midnight after the last interaction of any bucket (:meth:`Dataset.history_end` of the whole).
    history_days : float or None
        Days from the first interaction of any bucket to ``cutoff``; ``None`` without interactions.
    dropped : dict
        Rows dropped for their time (as in :attr:`Dataset.dropped`).
    """

    buckets: list[Future]
    n_residents: int
    cutoff: pd.Timestamp
    history_days: float | None
    dropped: dict[str, int]


def _read(part: Part, n_buckets: int) -> pd.DataFrame:
    return with_bucket(part.read(), C.RESIDENT, n_buckets, part.first_row)


def _shuffled(parts: list[Part], n_buckets: int) -> list[object]:
    """The table's rows moved to their buckets (one shuffle), as one delayed frame per bucket."""
    return to_buckets(dd.from_map(_read, parts, n_buckets=n_buckets, enforce_metadata=False), n_buckets)


def to_buckets(frame: dd.DataFrame, n_buckets: int) -> list[object]:
    """The rows of ``frame`` moved by their :data:`~scale.buckets.BUCKET` column (one shuffle), as one delayed
    frame per bucket: partition ``i`` holds bucket ``i`` exactly (divisions ``0, 1, ..., n - 1, n - 1``), every
    bucket present even when empty."""
    divisions = (*range(n_buckets), n_buckets - 1)
    moved = frame.set_index(BUCKET, divisions=divisions, shuffle_method="tasks", drop=False)
    return list(moved.to_delayed())


def _make_bucket(residents: pd.DataFrame, interactions: pd.DataFrame, communities: pd.DataFrame,
                 services: pd.DataFrame, now: pd.Timestamp) -> tuple[Bucket, int]:
    residents = residents.sort_values(ROW, kind="stable").reset_index(drop=True)
    interactions = interactions.sort_values(ROW, kind="stable").reset_index(drop=True)
    rows = residents[ROW].to_numpy(dtype=np.int64)
    # the folder loader's own pseudonyms (LINLI_PSEUDONYM_KEY): raw resident ids end here, as in load()
    own = pseudonymise_frames({"residents": residents.drop(columns=[BUCKET, ROW]),
                               "interactions": interactions.drop(columns=[BUCKET, ROW])})
    dataset = Dataset.from_frames(own["residents"], communities, services, own["interactions"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StrayRowsWarning)  # counted here, warned once for the whole
        bounded = bound_history(dataset, now)
    return Bucket(bounded, rows), bounded.dropped.get(OUT_OF_TIME, 0)


def _span(bucket: Bucket) -> tuple[int, int, int]:
    stamps = bucket.dataset.interactions[C.TIMESTAMP]
    if stamps.empty:
        return len(bucket.rows), -1, -1
    return len(bucket.rows), int(stamps.iloc[0].value), int(stamps.iloc[-1].value)


def history_days_from(cutoff: pd.Timestamp, first_event_ns: int) -> float:
    """The window (days) that keeps every event from ``first_event_ns`` on, as close as floats allow.

    :class:`~features.pipeline.FeaturePipeline` keeps events at or after ``cutoff - history_days`` and divides
    rates by ``history_days``; this value equals the span it computes itself from the first event.
    """
    days = (cutoff.value - first_event_ns) / _NS_PER_DAY
    while cutoff - pd.Timedelta(days=days) > pd.Timestamp(first_event_ns):
        days = float(np.nextafter(days, np.inf))
    return days


def bucket_data(client: Client, parts: dict[str, list[Part]], n_buckets: int,
                now: pd.Timestamp | str | None = None) -> BucketedData:
    """Shuffle residents and interactions into ``n_buckets`` resident buckets held on the workers.

    Parameters
    ----------
    client : distributed.Client
    parts : dict
        Table name → parts (:func:`scale.parts.folder_parts`), already validated.
    n_buckets : int
        Number of buckets.
    now : timestamp, optional
        The end of the history (exclusive), as for :func:`features.sources.load`.

    Returns
    -------
    BucketedData
    """
    end = latest_allowed(now)
    small = {name: pd.concat([p.read() for p in parts[name]], ignore_index=True)
             for name in ("communities", "services")}
    shared = {name: client.scatter(frame, broadcast=True, hash=False) for name, frame in small.items()}
    make = dask.delayed(_make_bucket, nout=2)
    pairs = [make(r, i, shared["communities"], shared["services"], end)
             for r, i in zip(_shuffled(parts["residents"], n_buckets), _shuffled(parts["interactions"], n_buckets),
                             strict=True)]
    computed = client.compute([p[0] for p in pairs] + [p[1] for p in pairs], retries=RETRIES)
    futures = computed[:n_buckets]
    dropped_total = sum(client.gather(computed[n_buckets:]))
    spans = client.gather(client.map(_span, futures, retries=RETRIES))
    n_residents = sum(n for n, _, _ in spans)
    firsts = [f for _, f, _ in spans if f >= 0]
    if firsts:
        cutoff = pd.Timestamp(max(last for _, _, last in spans)).normalize() + pd.Timedelta(days=1)
        history_days: float | None = history_days_from(cutoff, min(firsts))
    else:
        cutoff, history_days = pd.Timestamp.now().normalize() + pd.Timedelta(days=1), None
    warn_out_of_time(dropped_total, "interaction", now)
    dropped = {OUT_OF_TIME: dropped_total} if dropped_total else {}
    return BucketedData(futures, n_residents, cutoff, history_days, dropped)
