"""Context filters: channel, community scope and opening hours."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from serving.context import RequestContext, ServiceCatalog

SERVICES = pd.DataFrame({
    "service_id": ["day", "night", "always", "weekend", "odd", "scoped"],
    "category": ["health"] * 6,
    "name_zh": ["日", "夜", "全天", "周末", "不明", "本社区"],
    "channel": ["offline", "online", "both", "offline", "online", pd.NA],
    "opening_hours": ["08:00-17:00", "22:00-06:00", "00:00-24:00", "weekends", "by appointment", pd.NA],
    "community_scope": [pd.NA, pd.NA, pd.NA, "C1;C2", pd.NA, "C3"],
})
CATALOG = ServiceCatalog.from_services(SERVICES)


def _kept(**context: object) -> list[str]:
    mask = CATALOG.allowed(RequestContext(**context))  # type: ignore[arg-type]
    assert mask is not None
    return [s for s, keep in zip(CATALOG.ids, mask, strict=True) if keep]


def test_empty_context_filters_nothing() -> None:
    assert CATALOG.allowed(RequestContext()) is None


def test_channel() -> None:
    assert _kept(channel="online") == ["night", "always", "odd", "scoped"]
    assert _kept(channel="offline") == ["day", "always", "weekend", "scoped"]


def test_community_scope() -> None:
    assert _kept(community="C2") == ["day", "night", "always", "weekend", "odd"]
    assert _kept(community="C3") == ["day", "night", "always", "odd", "scoped"]


def test_opening_hours() -> None:
    wednesday_noon, wednesday_night = datetime(2026, 11, 4, 12, 0), datetime(2026, 11, 4, 23, 30)
    saturday_early = datetime(2026, 11, 7, 5, 0)
    assert _kept(time=wednesday_noon) == ["day", "always", "odd", "scoped"]
    assert _kept(time=wednesday_night) == ["night", "always", "odd", "scoped"]
    assert _kept(time=saturday_early) == ["night", "always", "weekend", "odd", "scoped"]
    assert _kept(time=datetime(2026, 11, 4, 17, 0)) == ["always", "odd", "scoped"]  # closing time is closed


def test_catalogue_shows_names_and_defaults_channel_to_both() -> None:
    assert CATALOG.names_zh[0] == "日" and CATALOG.names_en == [None] * 6
    assert CATALOG.channels[-1] == "both"
