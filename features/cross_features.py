"""Resident × service cross features, and the lookups (:class:`CrossTables`) fitted for them.

Cross features are computed for a frame of (resident, service) pairs, vectorised over the pairs:
history lookups are binary searches in sorted integer keys, so millions of pairs cost seconds.
Eligibility matches are 1 (eligible / matching), 0 (not) or NaN (the resident's side is unknown);
a service without a requirement matches everyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from features.columns import LIST_SEPARATOR, Vocab
from features.columns import Columns as C
from features.feature_registry import EventArrays, register, sorted_distinct
from features.repeat_features import occasion_keys
from features.side_families import SideTables

_NS_PER_DAY = 86_400_000_000_000
_IMPRESSION = Vocab.EVENTS.index("impression")
_SHARES = tuple(f"share_{c}" for c in Vocab.SERVICE_CATEGORIES)


def _codes(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    return pd.Categorical(values.astype(object), categories=list(vocabulary)).codes.astype(np.int64)


def _floats(values: pd.Series) -> np.ndarray:
    return values.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _find(keys: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``query`` in the sorted ``keys`` and whether each was found."""
    if len(keys) == 0:
        return np.zeros(len(query), dtype=np.int64), np.zeros(len(query), dtype=bool)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return pos, keys[pos] == query


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray, default: float,
            found: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """``values`` at the positions of ``query`` in the sorted ``keys``; ``default`` where absent."""
    pos, hit = found if found is not None else _find(keys, query)
    out = np.full(len(query), default, dtype=np.float64)
    out[hit] = values[pos[hit]]
    return out


@dataclass(frozen=True)
class CrossTables:
    """Per-pair history, per-community adoption and catalogue eligibility, fitted before the cut-off.

    Keys are sorted int64: ``resident * n_services + service`` for pairs, ``community * n_services +
    service`` for community adoption, ``service * n_communities + community`` for community scope.
    """

    n_services: int
    n_communities: int
    pair_keys: np.ndarray
    pair_count: np.ndarray
    pair_strongest: np.ndarray
    pair_last: np.ndarray
    pair_strength: np.ndarray
    community_keys: np.ndarray
    community_adopters: np.ndarray
    community_size: np.ndarray
    scope_keys: np.ndarray
    everywhere: np.ndarray
    category: np.ndarray
    channel: np.ndarray
    min_age: np.ndarray
    max_age: np.ndarray
    requires_children: np.ndarray
    residency: np.ndarray
    accessible: np.ndarray
    #: Consumption occasions, see :func:`features.repeat_features.occasion_keys` (pair key ``resident *
    #: n_services + service``).
    occasion_keys: np.ndarray
    #: Genre taste and release-year habit for the side families (:mod:`features.side_families`).
    side: SideTables = field(default_factory=SideTables)

    @classmethod
    def fit(cls, events: EventArrays, services: pd.DataFrame, resident_community: np.ndarray,
            community_index: pd.Index) -> CrossTables:
        """Build the lookups from events (positions into the fitted tables) and the services catalogue."""
        n_services, n_communities = len(services), len(community_index)
        keys, inverse = np.unique(events.resident * n_services + events.service, return_inverse=True)
        strongest = np.zeros(len(keys), dtype=np.int64)
        np.maximum.at(strongest, inverse, events.event.astype(np.int64) + 1)
        last = np.full(len(keys), np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, inverse, events.timestamp)
        active_keys = keys[np.bincount(inverse[events.event != _IMPRESSION], minlength=len(keys)) > 0]
        community = resident_community[active_keys // n_services]
        known = community >= 0
        community_keys, adopters = sorted_distinct(community[known] * n_services + active_keys[known] % n_services)
        scope = services[C.COMMUNITY_SCOPE].astype(object).reset_index(drop=True)
        members = scope.dropna().str.split(LIST_SEPARATOR).explode().str.strip()
        member_codes = community_index.get_indexer(members.to_numpy(dtype=object))
        service_pos = members.index.to_numpy(dtype=np.int64)[member_codes >= 0]
        return cls(
            n_services=n_services, n_communities=n_communities,
            pair_keys=keys, pair_count=np.bincount(inverse, minlength=len(keys)).astype(np.float64),
            pair_strongest=strongest.astype(np.float64), pair_last=last,
            pair_strength=np.bincount(inverse, weights=events.strength, minlength=len(keys)),
            community_keys=community_keys, community_adopters=adopters.astype(np.float64),
            community_size=np.bincount(resident_community[resident_community >= 0], minlength=n_communities),
            scope_keys=np.unique(service_pos * n_communities + member_codes[member_codes >= 0]),
            everywhere=scope.isna().to_numpy(dtype=bool),
            category=_codes(services[C.CATEGORY], Vocab.SERVICE_CATEGORIES),
            channel=_codes(services[C.CHANNEL], Vocab.CHANNEL),
            min_age=_floats(services[C.MIN_AGE]), max_age=_floats(services[C.MAX_AGE]),
            requires_children=np.nan_to_num(_floats(services[C.REQUIRES_CHILDREN]), nan=0.0) > 0,
            residency=_codes(services[C.RESIDENCY_REQUIRED].astype(object).fillna("any"), Vocab.RESIDENCY_REQUIRED),
            accessible=_floats(services[C.ACCESSIBLE]),
            occasion_keys=occasion_keys(events.resident * n_services + events.service, events.event,
                                        events.timestamp),
            side=SideTables.fit(events, services, len(resident_community)),
        )


class CrossContext:
    """What cross compute functions read: the pairs as positions, resident features and the tables.

    Parameters
    ----------
    tables : CrossTables
        Fitted lookups.
    residents : pandas.DataFrame
        Resident feature columns (at least those the selected cross features require), one row per
        resident position; positions past the fitted residents are cold-start residents without history.
    resident_community : numpy.ndarray
        Community position of every resident row (-1 if the community is unknown).
    resident_rows, service_rows : numpy.ndarray
        Positions of each pair's resident and service.
    cutoff : pandas.Timestamp
        The point in time the features describe.
    """

    def __init__(self, tables: CrossTables, residents: pd.DataFrame, resident_community: np.ndarray,
                 resident_rows: np.ndarray, service_rows: np.ndarray, cutoff: pd.Timestamp) -> None:
        self.tables = tables
        self.residents = residents
        self.resident_community = resident_community
        self.resident_rows = resident_rows
        self.service_rows = service_rows
        self.cutoff = cutoff

    def resident(self, column: str) -> np.ndarray:
        """A resident feature for every pair."""
        return self.residents[column].to_numpy(dtype=np.float64)[self.resident_rows]

    def pair(self, values: np.ndarray, default: float) -> np.ndarray:
        """A per-pair history value (``CrossTables.pair_*``) for every pair; ``default`` without history."""
        return _lookup(self.tables.pair_keys, values, self.resident_rows, default, self._pair_found)

    @cached_property
    def _pair_found(self) -> tuple[np.ndarray, np.ndarray]:
        query = self.resident_rows * self.tables.n_services + self.service_rows
        return _find(self.tables.pair_keys, query)

    @cached_property
    def community(self) -> np.ndarray:
        """Community position of every pair's resident (-1 if unknown)."""
        return self.resident_community[self.resident_rows]


def _match(condition: np.ndarray, known: np.ndarray, applies: np.ndarray) -> np.ndarray:
    """1/0 where the requirement applies and the resident side is known, NaN if unknown, 1 otherwise."""
    return np.where(applies, np.where(known, condition.astype(np.float64), np.nan), 1.0)


@register("category_affinity", "cross", "The resident's share_<category> for the service's category.",
          requires=("share_<category>",))
def _category_affinity(ctx: CrossContext) -> np.ndarray:
    shares = ctx.residents[list(_SHARES)].to_numpy(dtype=np.float64)
    category = ctx.tables.category[ctx.service_rows]
    return np.where(category >= 0, shares[ctx.resident_rows, np.maximum(category, 0)], 0.0)


@register("pair_n_events", "cross", "The resident's past events (all kinds) with this service.")
def _pair_n_events(ctx: CrossContext) -> np.ndarray:
    return ctx.pair(ctx.tables.pair_count, 0.0)


@register("pair_strength", "cross", "Strength-weighted sum of the resident's past events with this service.")
def _pair_strength(ctx: CrossContext) -> np.ndarray:
    return ctx.pair(ctx.tables.pair_strength, 0.0)


@register("pair_strongest_event", "cross",
          "Strongest past event with this service as 1 + its index in Vocab.EVENTS (impression 1 … rate 6); 0 if none.")
def _pair_strongest_event(ctx: CrossContext) -> np.ndarray:
    return ctx.pair(ctx.tables.pair_strongest, 0.0)


@register("pair_days_since_last", "cross", "Days from the last event with this service to the cut-off; NaN if none.")
def _pair_days_since_last(ctx: CrossContext) -> np.ndarray:
    last = ctx.pair(ctx.tables.pair_last.astype(np.float64), np.nan)
    return (float(ctx.cutoff.value) - last) / _NS_PER_DAY


@register("age_match", "cross", "1 if the resident's age is within the service's [min_age, max_age].",
          requires=("age",))
def _age_match(ctx: CrossContext) -> np.ndarray:
    age = ctx.resident("age")
    low, high = ctx.tables.min_age[ctx.service_rows], ctx.tables.max_age[ctx.service_rows]
    within = (np.isnan(low) | (age >= low)) & (np.isnan(high) | (age <= high))
    return _match(within, ~np.isnan(age), ~np.isnan(low) | ~np.isnan(high))


@register("children_match", "cross", "1 unless the service requires children and the household has none.",
          requires=("has_children",))
def _children_match(ctx: CrossContext) -> np.ndarray:
    has_children = ctx.resident("has_children")
    return _match(has_children == 1, ~np.isnan(has_children), ctx.tables.requires_children[ctx.service_rows])


@register("residency_match", "cross", "1 unless the service requires a residency status the resident lacks.",
          requires=("is_floating",))
def _residency_match(ctx: CrossContext) -> np.ndarray:
    floating = ctx.resident("is_floating")
    required = ctx.tables.residency[ctx.service_rows]
    wants_floating = required == Vocab.RESIDENCY_REQUIRED.index("floating")
    return _match((floating == 1) == wants_floating, ~np.isnan(floating), required > 0)


@register("channel_match", "cross",
          "0 if the resident prefers online and the service is offline-only or vice versa, else 1.",
          requires=("prefers_online", "prefers_offline"))
def _channel_match(ctx: CrossContext) -> np.ndarray:
    channel = ctx.tables.channel[ctx.service_rows]
    clash = (((ctx.resident("prefers_online") == 1) & (channel == Vocab.CHANNEL.index("offline")))
             | ((ctx.resident("prefers_offline") == 1) & (channel == Vocab.CHANNEL.index("online"))))
    return (~clash).astype(np.float64)


@register("accessibility_match", "cross",
          "1 unless the resident has an accessibility need and the service is not accessible (NaN: unknown).",
          requires=("accessibility_need",))
def _accessibility_match(ctx: CrossContext) -> np.ndarray:
    accessible = ctx.tables.accessible[ctx.service_rows]
    return _match(accessible == 1, ~np.isnan(accessible), ctx.resident("accessibility_need") == 1)


@register("scope_match", "cross", "1 if the service is offered in the resident's community (or everywhere).")
def _scope_match(ctx: CrossContext) -> np.ndarray:
    tables = ctx.tables
    key = ctx.service_rows * tables.n_communities + ctx.community
    listed = np.isin(key, tables.scope_keys) & (ctx.community >= 0)
    return (tables.everywhere[ctx.service_rows] | listed).astype(np.float64)


@register("community_popularity", "cross",
          "Share of the resident's community with an active event on the service; NaN if the community is unknown.")
def _community_popularity(ctx: CrossContext) -> np.ndarray:
    tables, community = ctx.tables, ctx.community
    query = np.maximum(community, 0) * tables.n_services + ctx.service_rows
    adopters = _lookup(tables.community_keys, tables.community_adopters, query, 0.0)
    size = tables.community_size[np.maximum(community, 0)].astype(np.float64)
    share = np.divide(adopters, size, out=np.zeros_like(adopters), where=size > 0)
    return np.where(community >= 0, share, np.nan)
