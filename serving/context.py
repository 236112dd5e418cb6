"""The service catalogue as served, and the request context (channel, community, time) that filters lists.

Context filters keep the services that fit the moment the platform asks for:

- ``channel``: ``online`` keeps online and both-channel services, ``offline`` keeps offline and both;
- ``community``: keeps services offered everywhere or in that community's scope;
- ``time``: keeps services open then — ``HH:MM-HH:MM`` opening hours (``00:00-24:00`` = always,
  overnight ranges wrap) and ``weekends``; other or missing opening hours count as open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd

from features.columns import LIST_SEPARATOR
from features.columns import Columns as C

Channel = Literal["online", "offline"]
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_WEEKENDS = "weekends"


@dataclass(frozen=True)
class RequestContext:
    """Where and when a list is requested; every field is optional.

    Attributes
    ----------
    channel : {"online", "offline"}, optional
    community : str, optional
        Community id the resident is in now.
    time : datetime, optional
        Local time of the request.
    """

    channel: Channel | None = None
    community: str | None = None
    time: datetime | None = None

    @property
    def empty(self) -> bool:
        """Whether no filter applies."""
        return self.channel is None and self.community is None and self.time is None


@dataclass(frozen=True)
class ServiceCatalog:
    """What the API shows of each service and what the context filters read, in the model's service order.

    Build it with :meth:`from_services`.
    """

    ids: list[str]
    categories: list[str]
    names_zh: list[str]
    names_en: list[str | None]
    channels: list[str]
    channel: np.ndarray
    scope: tuple[frozenset[str] | None, ...]
    opens: np.ndarray
    closes: np.ndarray
    weekends_only: np.ndarray

    @classmethod
    def from_services(cls, services: pd.DataFrame) -> ServiceCatalog:
        """Build the catalogue from a services table in internal id order (``ModelBundle.catalogue()``)."""
        n = len(services)

        def texts(column: str) -> list[str | None]:
            if column not in services:
                return [None] * n
            return [None if pd.isna(v) else str(v) for v in services[column].astype(object)]

        scopes = tuple(None if s is None else frozenset(p.strip() for p in s.split(LIST_SEPARATOR) if p.strip())
                       for s in texts(C.COMMUNITY_SCOPE))
        hours = [_parse_hours(h) for h in texts(C.OPENING_HOURS)]
        channels = [c or "both" for c in texts(C.CHANNEL)]
        return cls(ids=[str(s) for s in services[C.SERVICE]], categories=[c or "" for c in texts(C.CATEGORY)],
                   names_zh=[c or "" for c in texts(C.NAME_ZH)], names_en=texts(C.NAME_EN), channels=channels,
                   channel=np.asarray(channels, dtype=object),
                   scope=scopes, opens=np.array([h[0] for h in hours], dtype=np.float64),
                   closes=np.array([h[1] for h in hours], dtype=np.float64),
                   weekends_only=np.array([h[2] for h in hours], dtype=bool))

    def __len__(self) -> int:
        return len(self.ids)

    def allowed(self, context: RequestContext) -> np.ndarray | None:
        """Boolean mask over services of those fitting ``context``; ``None`` when the context is empty."""
        if context.empty:
            return None
        ok = np.ones(len(self), dtype=bool)
        if context.channel is not None:
            ok &= (self.channel == context.channel) | (self.channel == "both")
        if context.community is not None:
            ok &= np.array([s is None or context.community in s for s in self.scope], dtype=bool)
        if context.time is not None:
            ok &= self._open_at(context.time)
        return ok

    def _open_at(self, moment: datetime) -> np.ndarray:
        minute = moment.hour * 60 + moment.minute
        weekend = moment.weekday() >= 5
        known = ~np.isnan(self.opens)
        plain = self.opens <= self.closes
        inside = np.where(plain, (self.opens <= minute) & (minute < self.closes),
                          (minute >= self.opens) | (minute < self.closes))  # overnight, e.g. 22:00-06:00
        return np.where(self.weekends_only, weekend, ~known | inside)


def _parse_hours(text: str | None) -> tuple[float, float, bool]:
    """``(opens, closes, weekends_only)`` in minutes of the day; NaN when the hours cannot be read."""
    if text is None:
        return np.nan, np.nan, False
    if text.strip().lower() == _WEEKENDS:
        return np.nan, np.nan, True
    match = _HOURS.match(text)
    if match is None:
        return np.nan, np.nan, False
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    return float(h1 * 60 + m1), float(h2 * 60 + m2), False


__all__ = ["Channel", "RequestContext", "ServiceCatalog"]
