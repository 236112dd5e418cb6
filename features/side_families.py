"""Side and time feature families: what rating catalogues such as MovieLens carry beyond the interactions.

Registered like every other feature (see :mod:`features.feature_registry`); a feature set selects them:

* ``service_popularity_<days>`` (7d, 14d, 28d): strength-weighted events per resident in the last 7 / 14 / 28
  days before the cut-off — time-aware popularity as ranker features, beside ``service_popularity_30d``;
* ``service_years_since_release``: years from the ``release_year`` column of the services table to the
  cut-off (NaN where the catalogue has no such column or value);
* ``genre_<stat>`` (affinity, lift): the resident's strength-weighted share of their history in the service's
  genres (a service's ``category`` holding several ``;``-joined genres shares its weight among them), and that
  share over everyone's (1 = as interested as the average resident);
* ``release_year_gap``: the service's release year minus the mean release year of what the resident used.

Where the data do not carry the side information the families are all NaN (a constant column the ranker
never splits on), never an error: a catalogue whose categories are the single values of
:attr:`Vocab.SERVICE_CATEGORIES` (the synthetic community) is left to ``category_affinity``, and one without
``release_year`` gets no year features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.columns import LIST_SEPARATOR, Vocab
from features.columns import Columns as C
from features.feature_registry import EventArrays, register
from features.rating_families import ActivityTables

if TYPE_CHECKING:
    from features.cross_features import CrossContext
    from features.service_features import ServiceContext

#: Optional services column with the year a film (or any service) was released.
RELEASE_YEAR = "release_year"
#: At most this many genres (the most used) enter the genre features; the rest are ignored.
MAX_GENRES = 256
_NS_PER_DAY = 86_400_000_000_000
_DAYS_PER_YEAR = 365.25
_WINDOWS = {"7d": 7, "14d": 14, "28d": 28}
_IMPRESSION = Vocab.EVENTS.index("impression")
_UNKNOWN = "unknown"
_CHUNK = 1 << 22  # pair × genre cells per block of the affinity product


def genre_matrix(categories: pd.Series, max_genres: int = MAX_GENRES) -> np.ndarray | None:
    """(services × genres) weights, each row summing to 1 (0 without a genre); None when categories are plain.

    A category holding ``;``-joined genres gives each of them an equal share. Returns None when every
    category is a single value of :attr:`Vocab.SERVICE_CATEGORIES` (or unknown), where ``category_affinity``
    already says the same.
    """
    lists = categories.astype(object).fillna("").astype(str).str.split(LIST_SEPARATOR)
    exploded = lists.explode().str.strip()
    exploded = exploded[exploded.ne("") & exploded.ne(_UNKNOWN)]
    plain = set(Vocab.SERVICE_CATEGORIES)
    if exploded.empty or (lists.str.len().max() <= 1 and set(exploded) <= plain):
        return None
    kept = exploded.value_counts().index[:max_genres]
    exploded = exploded[exploded.isin(kept)]
    column = pd.Index(kept).get_indexer(exploded.to_numpy(dtype=object))
    matrix = np.zeros((len(categories), len(kept)), dtype=np.float64)
    matrix[exploded.index.to_numpy(dtype=np.int64), column] = 1.0
    return matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)


def release_years(services: pd.DataFrame) -> np.ndarray | None:
    """The services' release years as floats (NaN unknown); None when no service has one."""
    if RELEASE_YEAR not in services.columns:
        return None
    years = pd.to_numeric(services[RELEASE_YEAR], errors="coerce").to_numpy(dtype=np.float64)
    return years if np.isfinite(years).any() else None


@dataclass(frozen=True)
class SideTables:
    """Per-resident genre taste and release-year habit, fitted on the events before the cut-off.

    ``taste`` (residents × genres) rows sum to 1, or are NaN for residents without a genre in their history;
    ``overall`` is everyone's genre share; ``activity`` the event days of :mod:`features.rating_families`. Any
    part is None when the data do not carry it.
    """

    genres: np.ndarray | None = None
    taste: np.ndarray | None = None
    overall: np.ndarray | None = None
    years: np.ndarray | None = None
    resident_year: np.ndarray | None = None
    activity: ActivityTables | None = None

    @classmethod
    def fit(cls, events: EventArrays, services: pd.DataFrame, n_residents: int) -> SideTables:
        """Build from active (non-impression) events, weighted by their strength."""
        active = events.event != _IMPRESSION
        resident, service, weight = events.resident[active], events.service[active], events.strength[active]
        genres, taste, overall = genre_matrix(services[C.CATEGORY]), None, None
        if genres is not None:
            taste = np.zeros((n_residents, genres.shape[1]))
            np.add.at(taste, resident, genres[service] * weight[:, None])
            total = taste.sum(axis=0)
            overall = total / max(total.sum(), 1e-12)
            mass = taste.sum(axis=1, keepdims=True)
            taste = np.divide(taste, mass, out=np.full_like(taste, np.nan), where=mass > 0)
        years, resident_year = release_years(services), None
        if years is not None:
            known = np.isfinite(years[service])
            w = weight[known]
            total_year = np.bincount(resident[known], weights=w * years[service][known], minlength=n_residents)
            mass_year = np.bincount(resident[known], weights=w, minlength=n_residents)
            resident_year = np.divide(total_year, mass_year, out=np.full(n_residents, np.nan), where=mass_year > 0)
        return cls(genres, taste, overall, years, resident_year,
                   ActivityTables.fit(events, n_residents, len(services)))


def _per_resident(values: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    """``values[rows]`` with NaN for rows past the fitted residents (cold start) or when ``values`` is None."""
    out = np.full((len(rows), *(() if values is None else values.shape[1:])), np.nan)
    if values is not None:
        fitted = rows < len(values)
        out[fitted] = values[rows[fitted]]
    return out


@register("service_popularity_<days>", "service",
          "Strength-weighted events on the service per resident in the last 7 / 14 / 28 days before the cut-off "
          "(time-aware popularity).", members=tuple(_WINDOWS))
def _popularity_windows(ctx: ServiceContext) -> np.ndarray:
    columns = []
    for days in _WINDOWS.values():
        recent = ctx.events.timestamp >= ctx.cutoff.value - days * _NS_PER_DAY
        columns.append(ctx.count(recent, ctx.events.strength) / ctx.n_residents)
    return np.column_stack(columns) if columns else np.zeros((ctx.n, 0))


@register("service_years_since_release", "service",
          f"Years from the service's `{RELEASE_YEAR}` (services column, optional) to the cut-off; NaN if unknown.")
def _years_since_release(ctx: ServiceContext) -> np.ndarray:
    years = release_years(ctx.services)
    if years is None:
        return np.full(ctx.n, np.nan)
    now = 1970 + ctx.cutoff.value / _NS_PER_DAY / _DAYS_PER_YEAR
    return now - years


@register("genre_<stat>", "cross",
          "affinity: the resident's strength-weighted share of their history in the service's genres (the "
          "`;`-joined values of its category); lift: affinity over everyone's share (1 = average). NaN without "
          "history or when categories are single vocabulary values (see category_affinity).",
          members=("affinity", "lift"))
def _genre(ctx: CrossContext) -> np.ndarray:
    side = ctx.tables.side
    out = np.full((len(ctx.resident_rows), 2), np.nan)
    if side.genres is None or side.taste is None or side.overall is None:
        return out
    width = side.genres.shape[1]
    step = max(1, _CHUNK // max(width, 1))
    for start in range(0, len(out), step):
        rows = ctx.resident_rows[start:start + step]
        genres = side.genres[ctx.service_rows[start:start + step]]
        affinity = np.einsum("ij,ij->i", _per_resident(side.taste, rows), genres)
        overall = genres @ side.overall
        out[start:start + step, 0] = affinity
        out[start:start + step, 1] = np.divide(affinity, overall, out=np.full(len(rows), np.nan),
                                               where=overall > 0)
    return out


@register("release_year_gap", "cross",
          f"The service's `{RELEASE_YEAR}` minus the strength-weighted mean release year of what the resident "
          "used before the cut-off; NaN if either is unknown.")
def _release_year_gap(ctx: CrossContext) -> np.ndarray:
    side = ctx.tables.side
    if side.years is None:
        return np.full(len(ctx.resident_rows), np.nan)
    return side.years[ctx.service_rows] - _per_resident(side.resident_year, ctx.resident_rows)
