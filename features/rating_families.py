"""Feature families for rating catalogues (MovieLens and the like): when residents were active, what was popular
then, and how a service fares inside the resident's demographic segment.

Registered like every other feature (see :mod:`features.feature_registry`); ``features/feature_sets/ratings.toml``
selects them with the genre and release-year families of :mod:`features.side_families`:

* ``rater_<stat>`` (resident): the span of the resident's active days, and days from their first and median
  event to the cut-off;
* ``profile_<field>`` (resident, static): a stable code of the optional residents columns ``gender`` and
  ``occupation`` (NaN where absent), for the ranker to split on;
* ``service_days_since_median_event`` (service): days from the median event on the service to the cut-off;
* ``active_<stat>`` (cross): the service's share of all events while the resident was active (their span,
  widened by a margin, and a month around their median day) and its lift over the service's overall share; the
  service's first event minus the resident's last (was it new to them?), the gap between the two medians, and
  the service's age in years when the resident was active (from ``release_year``);
* ``segment_<stat>`` (cross): the service's smoothed lift inside the resident's gender, age band and occupation
  segment, and how that segment's genre taste matches the service's genres.

Events count unweighted (every active event once): these describe when and by whom services were chosen.
Missing side information gives NaN, never an error.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.columns import Vocab
from features.feature_registry import EventArrays, register

if TYPE_CHECKING:
    from features.cross_features import CrossContext
    from features.resident_features import ResidentContext
    from features.service_features import ServiceContext

_NS_PER_DAY = 86_400_000_000_000
_DAYS_PER_YEAR = 365.25
_IMPRESSION = Vocab.EVENTS.index("impression")
#: Margin (days) around a resident's active span, and the window around their median day.
SPAN_MARGIN_DAYS = 7.0
MIDDLE_WINDOW_DAYS = 30.0
#: Lower edges of the age bands of the age segment.
AGE_BANDS = np.array([18, 25, 35, 45, 56])
#: Pseudo-count of the overall share in a segment's smoothed share of a service.
SEGMENT_PRIOR = 20.0
PROFILE_FIELDS = ("gender", "occupation")
_SEGMENTS = ("gender", "age", "occupation")


@dataclass(frozen=True)
class ActivityTables:
    """Per-resident and per-service event days (days since the epoch) and a sorted (service, day) index."""

    event_resident: np.ndarray
    event_service: np.ndarray
    resident_first: np.ndarray
    resident_last: np.ndarray
    resident_median: np.ndarray
    service_first: np.ndarray
    service_median: np.ndarray
    service_share: np.ndarray
    keys: np.ndarray
    all_days: np.ndarray
    day0: float

    @classmethod
    def fit(cls, events: EventArrays, n_residents: int, n_services: int) -> ActivityTables:
        """Build from the active (non-impression) events before the cut-off."""
        active = events.event != _IMPRESSION
        res, svc = events.resident[active], events.service[active]
        days = events.timestamp[active] / _NS_PER_DAY
        day0 = float(days.min()) if len(days) else 0.0
        order = np.lexsort((days, svc))
        return cls(res, svc, _reduce(res, days, n_residents, np.minimum), _reduce(res, days, n_residents, np.maximum),
                   _median(res, days, n_residents), _reduce(svc, days, n_services, np.minimum),
                   _median(svc, days, n_services), np.bincount(svc, minlength=n_services) / max(len(svc), 1),
                   svc[order] * 1e6 + (days[order] - day0), np.sort(days), day0)

    def window_share(self, svc: np.ndarray, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Events on each service in ``[start, stop]`` (days) as a share of all events then, and its lift."""
        lo = np.searchsorted(self.keys, svc * 1e6 + (start - self.day0), side="left")
        hi = np.searchsorted(self.keys, svc * 1e6 + (stop - self.day0), side="right")
        total = np.searchsorted(self.all_days, stop, "right") - np.searchsorted(self.all_days, start, "left")
        share = np.where(np.isfinite(start) & np.isfinite(stop), (hi - lo) / np.maximum(total, 1), np.nan)
        return share, share / np.maximum(self.service_share[svc], 1e-9)

    def per_resident(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``values[rows]``, NaN for rows past the fitted residents (cold start)."""
        out = np.full(len(rows), np.nan)
        fitted = rows < len(values)
        out[fitted] = values[rows[fitted]]
        return out


def _reduce(index: np.ndarray, values: np.ndarray, size: int, ufunc: np.ufunc) -> np.ndarray:
    out = np.full(size, np.inf if ufunc is np.minimum else -np.inf)
    ufunc.at(out, index, values)
    return np.where(np.isfinite(out), out, np.nan)


def _median(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    frame = pd.DataFrame({"i": index, "v": values})
    return frame.groupby("i")["v"].median().reindex(range(size)).to_numpy(dtype=np.float64)


def _cutoff_day(cutoff: pd.Timestamp) -> float:
    return cutoff.value / _NS_PER_DAY


@register("rater_<stat>", "resident",
          "span_days: days between the resident's first and last event; days_since_first / days_since_median: "
          "days from their first / median event to the cut-off. NaN without events.",
          members=("span_days", "days_since_first", "days_since_median"))
def _rater(ctx: ResidentContext) -> np.ndarray:
    active = ctx.events.event != _IMPRESSION
    res, days = ctx.events.resident[active], ctx.events.timestamp[active] / _NS_PER_DAY
    first, last = _reduce(res, days, ctx.n, np.minimum), _reduce(res, days, ctx.n, np.maximum)
    now = _cutoff_day(ctx.cutoff)
    return np.column_stack([last - first, now - first, now - _median(res, days, ctx.n)])


@register("profile_<field>", "resident",
          "A stable code of the optional residents column `gender` / `occupation` (the same value always gets the "
          "same code); NaN where the column or value is missing.", members=PROFILE_FIELDS, static=True)
def _profile(ctx: ResidentContext) -> np.ndarray:
    return np.column_stack([_stable_codes(ctx.profiles, field) for field in PROFILE_FIELDS])


def _stable_codes(profiles: pd.DataFrame, column: str) -> np.ndarray:
    if column not in profiles.columns:
        return np.full(len(profiles), np.nan)
    values = profiles[column].astype(object)
    return np.array([np.nan if pd.isna(v) else float(zlib.crc32(str(v).encode()) % (1 << 24)) for v in values])


@register("service_days_since_median_event", "service",
          "Days from the median event on the service to the cut-off; NaN if none.")
def _days_since_median(ctx: ServiceContext) -> np.ndarray:
    active = ctx.events.event != _IMPRESSION
    days = ctx.events.timestamp[active] / _NS_PER_DAY
    return _cutoff_day(ctx.cutoff) - _median(ctx.events.service[active], days, ctx.n)


@register("active_<stat>", "cross",
          "share / lift: the service's share of all events while the resident was active (first to last event, "
          f"± {SPAN_MARGIN_DAYS:g} days) and over its overall share; middle_share / middle_lift: the same in the "
          f"{MIDDLE_WINDOW_DAYS:g} days around the resident's median day; first_after_last: days from the "
          "resident's last event to the service's first; median_gap: the service's median day minus the "
          "resident's; years_since_release: the service's age (`release_year`) at the resident's median day. "
          "NaN without history.",
          members=("share", "lift", "middle_share", "middle_lift", "first_after_last", "median_gap",
                   "years_since_release"))
def _active(ctx: CrossContext) -> np.ndarray:
    times = ctx.tables.side.activity
    rows, svc = ctx.resident_rows, ctx.service_rows
    out = np.full((len(rows), 7), np.nan)
    if times is None:
        return out
    first, last = times.per_resident(times.resident_first, rows), times.per_resident(times.resident_last, rows)
    median = times.per_resident(times.resident_median, rows)
    out[:, 0], out[:, 1] = times.window_share(svc, first - SPAN_MARGIN_DAYS, last + SPAN_MARGIN_DAYS)
    half = MIDDLE_WINDOW_DAYS / 2
    out[:, 2], out[:, 3] = times.window_share(svc, median - half, median + half)
    out[:, 4] = times.service_first[svc] - last
    out[:, 5] = times.service_median[svc] - median
    years = ctx.tables.side.years
    if years is not None:
        out[:, 6] = 1970 + median / _DAYS_PER_YEAR - years[svc]
    return out


@register("segment_<stat>", "cross",
          "<segment>_lift: the service's smoothed share of events inside the resident's gender / age band / "
          "occupation segment over its overall share (1 = as popular as everywhere); <segment>_genre_lift: how "
          "that segment's genre taste matches the service's genres, over everyone's. NaN where the segment is "
          "unknown or categories are plain vocabulary values.",
          members=tuple(f"{s}_{kind}" for kind in ("lift", "genre_lift") for s in _SEGMENTS),
          requires=("profile_<field>", "age"))
def _segment(ctx: CrossContext) -> np.ndarray:
    side, n = ctx.tables.side, len(ctx.resident_rows)
    out = np.full((n, 2 * len(_SEGMENTS)), np.nan)
    times = side.activity
    if times is None:
        return out
    values = {"gender": ctx.residents["profile_gender"].to_numpy(dtype=np.float64),
              "occupation": ctx.residents["profile_occupation"].to_numpy(dtype=np.float64)}
    age = ctx.residents["age"].to_numpy(dtype=np.float64)
    values["age"] = np.where(np.isnan(age), np.nan, np.searchsorted(AGE_BANDS, np.nan_to_num(age), side="right"))
    counts = np.bincount(times.event_service, minlength=ctx.tables.n_services).astype(np.float64)
    overall = counts / max(counts.sum(), 1.0)
    genres, genre_share = side.genres, side.overall
    for index, name in enumerate(_SEGMENTS):
        codes, _ = pd.factorize(values[name], use_na_sentinel=True)
        seg = codes[times.event_resident]
        known = seg >= 0
        table = np.zeros((max(codes.max(initial=-1) + 1, 1), len(counts)))
        np.add.at(table, (seg[known], times.event_service[known]), 1.0)
        share = (table + SEGMENT_PRIOR * overall) / (table.sum(axis=1, keepdims=True) + SEGMENT_PRIOR)
        lift = share / np.maximum(overall, 1e-9)
        code = codes[ctx.resident_rows]
        hit = code >= 0
        out[hit, index] = lift[code[hit], ctx.service_rows[hit]]
        if genres is not None and genre_share is not None:
            taste = table @ genres
            taste /= np.maximum(taste.sum(axis=1, keepdims=True), 1e-12)
            pair_genres = genres[ctx.service_rows[hit]]
            match = np.einsum("ij,ij->i", taste[code[hit]], pair_genres)
            out[hit, len(_SEGMENTS) + index] = match / np.maximum(pair_genres @ genre_share, 1e-9)
    return out


__all__ = ["ActivityTables"]
