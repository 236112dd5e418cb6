"""Service features: popularity and ratings from events before the cut-off, plus catalogue attributes.

All columns are float64; NaN means unknown. Popularity is normalised per resident of the dataset so
that values fitted on different cut-offs or community sizes stay comparable.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from features.columns import LIST_SEPARATOR, Vocab
from features.columns import Columns as C
from features.feature_registry import EventArrays, register, sorted_distinct

_NS_PER_DAY = 86_400_000_000_000
_RECENT_DAYS = 30
_IMPRESSION = Vocab.EVENTS.index("impression")
_DEEP_EVENTS = np.array([Vocab.EVENTS.index(e) for e in ("book", "use", "rate")])


class ServiceContext:
    """What service compute functions read.

    Parameters
    ----------
    services : pandas.DataFrame
        Typed services rows (as in :attr:`Dataset.services`); row ``i`` is service position ``i``.
    events : EventArrays
        Events before the cut-off; ``events.service`` holds row positions in ``services``.
    cutoff : pandas.Timestamp
        The point in time the features describe.
    n_residents, n_communities : int
        Size of the dataset, to normalise popularity and community scope.
    """

    def __init__(self, services: pd.DataFrame, events: EventArrays, cutoff: pd.Timestamp,
                 n_residents: int, n_communities: int) -> None:
        self.services = services
        self.events = events
        self.cutoff = cutoff
        self.n_residents = max(n_residents, 1)
        self.n_communities = max(n_communities, 1)
        self.n = len(services)

    def count(self, mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        """Per-service sum of ``weights`` (or count) over events where ``mask`` holds."""
        rows = self.events.service if mask is None else self.events.service[mask]
        w = None if weights is None else (weights if mask is None else weights[mask])
        return np.bincount(rows, weights=w, minlength=self.n).astype(np.float64)

    def flag(self, name: str) -> np.ndarray:
        """A boolean catalogue column as 1.0 / 0.0 / NaN."""
        return self.services[name].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)

    @cached_property
    def active(self) -> np.ndarray:
        """Mask of non-impression events."""
        return self.events.event != _IMPRESSION


def _ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(numerator.shape, empty, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _one_hot(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    codes = pd.Categorical(values.astype(object), categories=list(vocabulary)).codes
    out = np.zeros((len(codes), len(vocabulary)), dtype=np.float64)
    known = codes >= 0
    out[np.flatnonzero(known), codes[known]] = 1.0
    return out


@register("service_n_events", "service", "Number of events (all kinds) on the service before the cut-off.")
def _n_events(ctx: ServiceContext) -> np.ndarray:
    return ctx.count()


@register("service_reach", "service", "Share of the dataset's residents with an active event on the service.")
def _reach(ctx: ServiceContext) -> np.ndarray:
    active = ctx.active
    pairs = sorted_distinct(ctx.events.resident[active] * ctx.n + ctx.events.service[active])[0]
    return np.bincount(pairs % ctx.n, minlength=ctx.n) / ctx.n_residents


@register("service_popularity", "service", "Strength-weighted events on the service per resident.")
def _popularity(ctx: ServiceContext) -> np.ndarray:
    return ctx.count(weights=ctx.events.strength) / ctx.n_residents


@register("service_popularity_30d", "service",
          "Strength-weighted events per resident in the 30 days before the cut-off.")
def _popularity_recent(ctx: ServiceContext) -> np.ndarray:
    recent = ctx.events.timestamp >= ctx.cutoff.value - _RECENT_DAYS * _NS_PER_DAY
    return ctx.count(recent, ctx.events.strength) / ctx.n_residents


@register("service_deep_share", "service", "Share of active events that are book, use or rate; NaN if none.")
def _deep_share(ctx: ServiceContext) -> np.ndarray:
    deep = np.isin(ctx.events.event, _DEEP_EVENTS)
    return _ratio(ctx.count(deep), ctx.count(ctx.active), empty=np.nan)


@register("service_offline_share", "service", "Share of active events with channel offline; NaN if none.")
def _offline_share(ctx: ServiceContext) -> np.ndarray:
    return _ratio(ctx.count(ctx.active & ctx.events.offline), ctx.count(ctx.active), empty=np.nan)


@register("service_mean_rating", "service", "Mean rating (1–5) received; NaN if never rated.")
def _mean_rating(ctx: ServiceContext) -> np.ndarray:
    rated = ~np.isnan(ctx.events.rating)
    return _ratio(ctx.count(rated, ctx.events.rating), ctx.count(rated), empty=np.nan)


@register("service_n_ratings", "service", "Number of ratings received.")
def _n_ratings(ctx: ServiceContext) -> np.ndarray:
    return ctx.count(~np.isnan(ctx.events.rating))


@register("service_days_since_first_event", "service",
          "Days from the service's first event to the cut-off (how established it is); NaN if none.")
def _days_since_first(ctx: ServiceContext) -> np.ndarray:
    first = np.full(ctx.n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, ctx.events.service, ctx.events.timestamp)
    return np.where(first == np.iinfo(np.int64).max, np.nan, (ctx.cutoff.value - first) / _NS_PER_DAY)


@register("service_category_<category>", "service", "One-hot service category; all 0 outside the vocabulary.",
          members=Vocab.SERVICE_CATEGORIES)
def _category(ctx: ServiceContext) -> np.ndarray:
    return _one_hot(ctx.services[C.CATEGORY], Vocab.SERVICE_CATEGORIES)


@register("service_channel_<channel>", "service", "One-hot delivery channel (online, offline, both).",
          members=Vocab.CHANNEL)
def _channel(ctx: ServiceContext) -> np.ndarray:
    return _one_hot(ctx.services[C.CHANNEL], Vocab.CHANNEL)


@register("service_min_age", "service", "Minimum age to be eligible; NaN if none.")
def _min_age(ctx: ServiceContext) -> np.ndarray:
    return ctx.flag(C.MIN_AGE)


@register("service_max_age", "service", "Maximum age to be eligible; NaN if none.")
def _max_age(ctx: ServiceContext) -> np.ndarray:
    return ctx.flag(C.MAX_AGE)


@register("service_requires_children", "service", "1 if only for households with children, else 0.")
def _requires_children(ctx: ServiceContext) -> np.ndarray:
    return np.nan_to_num(ctx.flag(C.REQUIRES_CHILDREN), nan=0.0)


@register("service_residency_<requirement>", "service",
          "One-hot residency requirement (any, registered, floating); missing counts as any.",
          members=Vocab.RESIDENCY_REQUIRED)
def _residency(ctx: ServiceContext) -> np.ndarray:
    return _one_hot(ctx.services[C.RESIDENCY_REQUIRED].astype(object).fillna("any"), Vocab.RESIDENCY_REQUIRED)


@register("service_accessible", "service", "1 if usable with accessibility needs, 0 if not, NaN if unknown.")
def _accessible(ctx: ServiceContext) -> np.ndarray:
    return ctx.flag(C.ACCESSIBLE)


@register("service_scope_share", "service", "Share of the communities offering the service (1 = everywhere).")
def _scope_share(ctx: ServiceContext) -> np.ndarray:
    scope = ctx.services[C.COMMUNITY_SCOPE].astype(object)
    sizes = scope.map(lambda s: len({p.strip() for p in s.split(LIST_SEPARATOR) if p.strip()}),
                      na_action="ignore")
    share = sizes.to_numpy(dtype=np.float64, na_value=np.nan) / ctx.n_communities
    return np.minimum(np.nan_to_num(share, nan=1.0), 1.0)


@register("service_cost_yuan", "service", "Cost in yuan; NaN if unknown.")
def _cost(ctx: ServiceContext) -> np.ndarray:
    return ctx.flag(C.COST)


@register("service_one_off", "service", "1 if used once (e.g. a permit), else 0.")
def _one_off(ctx: ServiceContext) -> np.ndarray:
    return np.nan_to_num(ctx.flag(C.ONE_OFF), nan=0.0)
