"""Resident features: profile (static) features and behaviour features from events before the cut-off.

Static features read only the resident's profile row, so they are also computed for cold-start
residents at serving time. Behaviour features read :class:`~features.feature_registry.EventArrays`;
a resident without events gets counts and shares of 0 and NaN recency / mean rating.

Conventions: every column is float64; NaN means unknown. "Active" events are all events except
impressions (impressions are driven by the system, not the resident); the time-of-day, weekday,
channel shares use active events only. Hour windows are inclusive: peak 06–09 and 17–22 on Mon–Fri
(morning 06–09 alone in ``weekday_morning_share``),
daytime 09–17, evening 18–23.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.columns import Vocab
from features.feature_registry import EventArrays, register, sorted_distinct

_NS_PER_DAY = 86_400_000_000_000
_NS_PER_HOUR = 3_600_000_000_000
_DAYS_PER_MONTH = 30.4375
_IMPRESSION = Vocab.EVENTS.index("impression")


class ResidentContext:
    """What resident compute functions read.

    Parameters
    ----------
    profiles : pandas.DataFrame
        Typed residents rows (as in :attr:`Dataset.residents`); row ``i`` is resident position ``i``.
    events : EventArrays
        Events before the cut-off; ``events.resident`` holds row positions in ``profiles``.
    cutoff : pandas.Timestamp
        The point in time the features describe.
    community_district : pandas.Series
        District id indexed by community id (to tell whether a resident works in another district).
    span_days : float
        Length of the observed history before the cut-off, for rates such as ``events_per_month``.
    """

    def __init__(self, profiles: pd.DataFrame, events: EventArrays, cutoff: pd.Timestamp,
                 community_district: pd.Series, span_days: float) -> None:
        self.profiles = profiles
        self.events = events
        self.cutoff = cutoff
        self.community_district = community_district
        self.span_days = span_days
        self.n = len(profiles)

    def column(self, name: str) -> np.ndarray:
        """A numeric profile column as float64 with NaN for missing."""
        return self.profiles[name].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)

    def codes(self, name: str, vocabulary: tuple[str, ...]) -> np.ndarray:
        """A categorical profile column as codes into ``vocabulary`` (-1 for missing)."""
        return pd.Categorical(self.profiles[name].astype(object), categories=list(vocabulary)).codes

    def count(self, mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        """Per-resident sum of ``weights`` (or count) over events where ``mask`` holds."""
        rows = self.events.resident if mask is None else self.events.resident[mask]
        w = None if weights is None else (weights if mask is None else weights[mask])
        return np.bincount(rows, weights=w, minlength=self.n).astype(np.float64)

    @cached_property
    def active(self) -> np.ndarray:
        """Mask of non-impression events."""
        return self.events.event != _IMPRESSION

    @cached_property
    def n_active(self) -> np.ndarray:
        """Number of non-impression events per resident."""
        return self.count(self.active)

    @cached_property
    def hour(self) -> np.ndarray:
        """Hour of day (0–23) of every event."""
        return (self.events.timestamp // _NS_PER_HOUR) % 24

    @cached_property
    def weekday(self) -> np.ndarray:
        """Day of week of every event, Monday = 0 (1970-01-01 was a Thursday)."""
        return (self.events.timestamp // _NS_PER_DAY + 3) % 7

    def active_share(self, mask: np.ndarray) -> np.ndarray:
        """Share of each resident's active events where ``mask`` holds; 0 without active events."""
        return _ratio(self.count(self.active & mask), self.n_active, empty=0.0)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(numerator.shape, empty, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _indicator(condition: np.ndarray, known: np.ndarray) -> np.ndarray:
    return np.where(known, condition.astype(np.float64), np.nan)


def _one_hot(codes: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((len(codes), width), dtype=np.float64)
    known = codes >= 0
    out[np.flatnonzero(known), codes[known]] = 1.0
    return out


# ---- static: demographics, household, residency, accessibility, channel, commute -------------------

@register("age", "resident", "Age in years at the cut-off: cut-off year − birth_year; NaN if unknown.",
          static=True)
def _age(ctx: ResidentContext) -> np.ndarray:
    return ctx.cutoff.year - ctx.column(C.BIRTH_YEAR)


@register("age_known", "resident", "1 if birth_year is known, else 0.", static=True)
def _age_known(ctx: ResidentContext) -> np.ndarray:
    return (~np.isnan(ctx.column(C.BIRTH_YEAR))).astype(np.float64)


@register("household_size", "resident", "People in the household; NaN if unknown.", static=True)
def _household_size(ctx: ResidentContext) -> np.ndarray:
    return ctx.column(C.HOUSEHOLD_SIZE)


@register("children_under_18", "resident", "Children under 18 at home; NaN if unknown.", static=True)
def _children(ctx: ResidentContext) -> np.ndarray:
    return ctx.column(C.CHILDREN)


@register("has_children", "resident", "1 if any child under 18 at home, 0 if none, NaN if unknown.",
          static=True)
def _has_children(ctx: ResidentContext) -> np.ndarray:
    children = ctx.column(C.CHILDREN)
    return _indicator(children > 0, ~np.isnan(children))


@register("employment_<status>", "resident", "One-hot employment status; all 0 when unknown.",
          members=Vocab.EMPLOYMENT, static=True)
def _employment(ctx: ResidentContext) -> np.ndarray:
    return _one_hot(ctx.codes(C.EMPLOYMENT, Vocab.EMPLOYMENT), len(Vocab.EMPLOYMENT))


@register("employment_known", "resident", "1 if employment status is known, else 0.", static=True)
def _employment_known(ctx: ResidentContext) -> np.ndarray:
    return (ctx.codes(C.EMPLOYMENT, Vocab.EMPLOYMENT) >= 0).astype(np.float64)


@register("is_floating", "resident", "1 if floating population (流动人口), 0 if registered, NaN if unknown.",
          static=True)
def _is_floating(ctx: ResidentContext) -> np.ndarray:
    codes = ctx.codes(C.RESIDENCY, Vocab.RESIDENCY)
    return _indicator(codes == Vocab.RESIDENCY.index("floating"), codes >= 0)


@register("months_resident", "resident", "Months living in the community; NaN if unknown.", static=True)
def _months_resident(ctx: ResidentContext) -> np.ndarray:
    return ctx.column(C.MONTHS_RESIDENT)


@register("accessibility_need", "resident", "1 if accessibility_needs is a need, 0 if none, NaN if unknown.",
          static=True)
def _accessibility_need(ctx: ResidentContext) -> np.ndarray:
    codes = ctx.codes(C.ACCESSIBILITY, Vocab.ACCESSIBILITY)
    return np.where(codes < 0, np.nan, (codes > Vocab.ACCESSIBILITY.index("none")).astype(float))


@register("prefers_offline", "resident", "1 if the preferred channel is offline, else 0 (both/unknown: 0).",
          static=True)
def _prefers_offline(ctx: ResidentContext) -> np.ndarray:
    return (ctx.codes(C.PREFERRED_CHANNEL, Vocab.CHANNEL) == Vocab.CHANNEL.index("offline")).astype(float)


@register("prefers_online", "resident", "1 if the preferred channel is online, else 0 (both/unknown: 0).",
          static=True)
def _prefers_online(ctx: ResidentContext) -> np.ndarray:
    return (ctx.codes(C.PREFERRED_CHANNEL, Vocab.CHANNEL) == Vocab.CHANNEL.index("online")).astype(float)


@register("works_other_district", "resident",
          "1 if work_district differs from the home district, 0 if the same, NaN if either is unknown.",
          static=True)
def _works_other_district(ctx: ResidentContext) -> np.ndarray:
    home = ctx.profiles[C.COMMUNITY].astype(object).map(ctx.community_district).astype(object)
    work = ctx.profiles[C.WORK_DISTRICT].astype(object)
    known = (home.notna() & work.notna()).to_numpy(dtype=bool)
    return _indicator((home != work).to_numpy(dtype=bool), known)


@register("departure_hour", "resident", "Usual hour of leaving for work (0–23); NaN if unknown.", static=True)
def _departure_hour(ctx: ResidentContext) -> np.ndarray:
    return ctx.column(C.DEPARTURE_HOUR)


@register("departure_peak", "resident", "1 if the usual departure hour is 06–09, 0 if other, NaN if unknown.",
          static=True)
def _departure_peak(ctx: ResidentContext) -> np.ndarray:
    hour = ctx.column(C.DEPARTURE_HOUR)
    return _indicator((hour >= 6) & (hour <= 9), ~np.isnan(hour))


# ---- behaviour: recency/frequency, category affinity, time profile, channel, ratings ----------------

@register("n_events", "resident", "Number of events (all kinds, impressions included) before the cut-off.")
def _n_events(ctx: ResidentContext) -> np.ndarray:
    return ctx.count()


@register("n_active_days", "resident", "Distinct calendar days with at least one event.")
def _n_active_days(ctx: ResidentContext) -> np.ndarray:
    day = ctx.events.timestamp // _NS_PER_DAY
    if len(day) == 0:
        return np.zeros(ctx.n)
    span = int(day.max() - day.min()) + 1
    resident_days = sorted_distinct(ctx.events.resident * span + (day - day.min()))[0]
    return np.bincount(resident_days // span, minlength=ctx.n).astype(np.float64)


@register("days_since_last_event", "resident", "Days from the last event to the cut-off; NaN if none.")
def _days_since_last_event(ctx: ResidentContext) -> np.ndarray:
    last = np.full(ctx.n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, ctx.events.resident, ctx.events.timestamp)
    days = (ctx.cutoff.value - last) / _NS_PER_DAY
    return np.where(last == np.iinfo(np.int64).min, np.nan, days)


@register("events_per_month", "resident", "n_events per 30.44 days of observed history before the cut-off.")
def _events_per_month(ctx: ResidentContext) -> np.ndarray:
    months = ctx.span_days / _DAYS_PER_MONTH
    return ctx.count() / months if months > 0 else np.zeros(ctx.n)


@register("share_<category>", "resident",
          "Strength-weighted share of the resident's events on services of each category; 0 without events.",
          members=Vocab.SERVICE_CATEGORIES)
def _category_share(ctx: ResidentContext) -> np.ndarray:
    width = len(Vocab.SERVICE_CATEGORIES)
    known = ctx.events.category >= 0
    key = ctx.events.resident[known] * width + ctx.events.category[known]
    by_category = np.bincount(key, weights=ctx.events.strength[known], minlength=ctx.n * width)
    total = ctx.count(weights=ctx.events.strength)
    return _ratio(by_category.reshape(ctx.n, width), total[:, None], empty=0.0)


@register("weekday_peak_share", "resident", "Share of active events on Mon–Fri at hours 06–09 or 17–22.")
def _weekday_peak_share(ctx: ResidentContext) -> np.ndarray:
    hour = ctx.hour
    peak = ((hour >= 6) & (hour <= 9)) | ((hour >= 17) & (hour <= 22))
    return ctx.active_share(peak & (ctx.weekday < 5))


@register("weekday_morning_share", "resident",
          "Share of active events on Mon–Fri at hours 06–09, when commuters are on their way and residents who "
          "work locally are not yet out (the evening peak is shared by both).")
def _weekday_morning_share(ctx: ResidentContext) -> np.ndarray:
    return ctx.active_share((ctx.hour >= 6) & (ctx.hour <= 9) & (ctx.weekday < 5))


@register("weekday_work_hours_share", "resident",
          "Share of active events on Mon–Fri at hours 09–17, when commuters are away at work.")
def _weekday_work_hours_share(ctx: ResidentContext) -> np.ndarray:
    return ctx.active_share((ctx.hour >= 9) & (ctx.hour <= 17) & (ctx.weekday < 5))


@register("weekend_share", "resident", "Share of active events on Saturday or Sunday.")
def _weekend_share(ctx: ResidentContext) -> np.ndarray:
    return ctx.active_share(ctx.weekday >= 5)


@register("daytime_share", "resident", "Share of active events at hours 09–17.")
def _daytime_share(ctx: ResidentContext) -> np.ndarray:
    return ctx.active_share((ctx.hour >= 9) & (ctx.hour <= 17))


@register("evening_share", "resident", "Share of active events at hours 18–23.")
def _evening_share(ctx: ResidentContext) -> np.ndarray:
    return ctx.active_share(ctx.hour >= 18)


@register("offline_event_share", "resident", "Share of active events whose channel is offline.")
def _offline_event_share(ctx: ResidentContext) -> np.ndarray:
    return ctx.active_share(ctx.events.offline)


@register("mean_rating_given", "resident", "Mean rating (1–5) the resident gave; NaN if none.")
def _mean_rating_given(ctx: ResidentContext) -> np.ndarray:
    rated = ~np.isnan(ctx.events.rating)
    return _ratio(ctx.count(rated, ctx.events.rating), ctx.count(rated), empty=np.nan)


@register("n_ratings", "resident", "Number of ratings the resident gave.")
def _n_ratings(ctx: ResidentContext) -> np.ndarray:
    return ctx.count(~np.isnan(ctx.events.rating))
