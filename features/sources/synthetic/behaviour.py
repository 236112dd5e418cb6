"""Interactions of the synthetic community: who engages with what, when, and how far down the funnel.

Each resident has an activity level; each engagement picks a service by softmax over the resident's
true scores, so behaviour follows hidden preferences. Online engagements run the funnel
impression → view → click → book → use → rate, with conversion rising with the true score, and come
with impressions of other (popular) services that were not clicked. Offline-preferring residents
mostly show up in person: a ``use`` (recorded by the community worker), sometimes a rating.
Times follow each type's rhythm: commuters at weekday peaks and on weekends, the elderly in the mornings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.columns import Vocab
from features.sources.synthetic.population import TYPES, Population
from features.sources.synthetic.reactions import (
    CHOICE_TEMPERATURE,
    FUNNEL,
    RATE_OFFLINE,
    RATE_ONLINE,
    RATING_NOISE,
    USE_AFTER_BOOK,
    star_ratings,
    step_probability,
)

_EVENT = {name: i for i, name in enumerate(Vocab.EVENTS)}
_COMMENTS = {1: ("服务太差", "排队时间太长", "工作人员态度不好"), 2: ("不太方便", "预约困难"),
             3: ("一般", "还可以"), 4: ("挺好的", "很方便"), 5: ("服务很好", "非常满意，谢谢社区", "工作人员很耐心")}
_CHUNK = 400_000
_TEMPERATURE = CHOICE_TEMPERATURE


def _choose_services(rng: np.random.Generator, scores: np.ndarray, resident: np.ndarray) -> np.ndarray:
    """One service per engagement, drawn by softmax(score / T) of that engagement's resident."""
    finite = np.where(np.isfinite(scores), scores / _TEMPERATURE, -np.inf)
    finite -= finite.max(axis=1, keepdims=True)
    cdf = np.cumsum(np.exp(finite), axis=1, dtype=np.float64)
    cdf /= cdf[:, -1:]
    out = np.empty(len(resident), dtype=np.int64)
    for start in range(0, len(resident), _CHUNK):
        rows = resident[start:start + _CHUNK]
        u = rng.random(len(rows))[:, None]
        out[start:start + _CHUNK] = (cdf[rows] < u).sum(axis=1)
    return np.minimum(out, scores.shape[1] - 1)


def _engagement_times(rng: np.random.Generator, pop: Population, resident: np.ndarray,
                      start: pd.Timestamp, weeks: int) -> np.ndarray:
    """Timestamps (ns) of engagements, shaped by each resident's weekly and daily rhythm."""
    n = len(resident)
    commuter = pop.types[resident, TYPES.index("commuter")]
    elderly = pop.types[resident, TYPES.index("elderly")]
    student = pop.types[resident, TYPES.index("student")]
    weekend = rng.random(n) < np.where(commuter, 0.35, 2 / 7)
    weekday = np.where(weekend, rng.integers(5, 7, n), rng.integers(0, 5, n))
    offset_days = rng.integers(0, weeks, n) * 7 + (weekday - start.day_of_week) % 7
    hour = rng.choice(np.arange(10, 17), n)  # daytime by default
    hour = np.where(rng.random(n) < 0.12, rng.integers(18, 22, n), hour)
    hour = np.where(elderly, rng.choice([6, 7, 8, 9, 9, 10, 10, 11, 14, 15, 16], n), hour)
    hour = np.where(student, rng.choice([12, 14, 16, 17, 19, 20, 21], n), hour)
    peak = rng.choice([6, 7, 7, 8, 8, 18, 19, 19, 20, 21], n)
    hour = np.where(commuter & ~weekend, peak, hour)
    hour = np.where(commuter & weekend, rng.integers(9, 21, n), hour)
    evening = pop.definitions.commuter.local_worker_evening
    if evening > 0 and pop.local_worker is not None:  # local workers come after work, as commuters do
        after_work = pop.local_worker[resident] & ~weekend & ~elderly & (rng.random(n) < evening)
        hour = np.where(after_work, rng.integers(17, 22, n), hour)
    seconds = offset_days * 86_400 + hour * 3600 + rng.integers(0, 3600, n)
    return start.value + seconds.astype(np.int64) * 1_000_000_000


def _once_for_one_off(resident: np.ndarray, service: np.ndarray, when: np.ndarray, one_off: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep only a resident's first engagement with a one-off service (a permit is applied for once)."""
    order = np.lexsort((when, service, resident))
    r, s = resident[order], service[order]
    repeat = np.r_[False, (r[1:] == r[:-1]) & (s[1:] == s[:-1])]
    keep = np.ones(len(order), dtype=bool)
    keep[order] = ~(repeat & one_off[s])
    return resident[keep], service[keep], when[keep]


def make_interactions(rng: np.random.Generator, pop: Population, services: pd.DataFrame, scores: np.ndarray,
                      end: pd.Timestamp, weeks: int, events_per_resident: float) -> pd.DataFrame:
    """Draw the interactions table (raw contract columns, ids as categoricals for speed)."""
    n = len(pop.primary)
    start = end - pd.Timedelta(weeks=weeks)
    activity = rng.lognormal(0.0, 0.7, n) * np.where(pop.types[:, TYPES.index("elderly")], 1.3, 1.0)
    engagements = rng.poisson(activity / activity.mean() * events_per_resident / 4.0)
    resident = np.repeat(np.arange(n), engagements)
    service = _choose_services(rng, scores, resident)
    when = _engagement_times(rng, pop, resident, start, weeks)
    resident, service, when = _once_for_one_off(resident, service, when,
                                                services[C.ONE_OFF].fillna(False).to_numpy(dtype=bool))
    true = scores[resident, service]
    prefers_offline = pop.residents[C.PREFERRED_CHANNEL].to_numpy()[resident] == "offline"
    offline = prefers_offline & (rng.random(len(resident)) < 0.85)

    parts: list[tuple[np.ndarray, ...]] = []  # (resident, service, time, event, channel_online)
    online = ~offline
    reach = online.copy()
    delay = np.zeros(len(resident), dtype=np.int64)
    for event, _fixed, seconds in FUNNEL:
        reach &= rng.random(len(resident)) < step_probability(event, true)
        delay += seconds
        parts.append((resident[reach], service[reach], when[reach] + delay[reach] * 10**9,
                      np.full(reach.sum(), _EVENT[event]), np.ones(reach.sum(), bool)))
    used = (reach & (rng.random(len(resident)) < USE_AFTER_BOOK)) | offline
    use_time = when + np.where(offline, 0, rng.integers(1, 4, len(resident)) * 86_400) * 10**9
    parts.append((resident[used], service[used], use_time[used], np.full(used.sum(), _EVENT["use"]), ~offline[used]))
    rated = used & (rng.random(len(resident)) < np.where(offline, RATE_OFFLINE, RATE_ONLINE))
    rating = star_ratings(true, rng.normal(0, RATING_NOISE, len(resident)))
    rate_time = use_time + rng.integers(600, 7200, len(resident)) * 10**9
    parts.append((resident[rated], service[rated], rate_time[rated], np.full(rated.sum(), _EVENT["rate"]),
                  ~offline[rated]))

    popularity = np.exp(np.where(np.isfinite(scores), scores, -np.inf)).mean(axis=0)
    shown = rng.poisson(1.3, len(resident)) * online
    shown_resident = np.repeat(resident, shown)
    shown_service = rng.choice(scores.shape[1], size=len(shown_resident), p=popularity / popularity.sum())
    shown_time = np.repeat(when, shown) + rng.integers(0, 60, len(shown_resident)) * 10**9
    if pop.definitions.job_seeker.registers:  # first in parts: ratings are located from the end below
        parts.insert(0, _job_search_registrations(rng, pop, services, scores, start, weeks))
    parts.append((shown_resident, shown_service, shown_time, np.full(len(shown_resident), _EVENT["impression"]),
                  np.ones(len(shown_resident), bool)))

    res, svc, ts, ev, chan = (np.concatenate(cols) for cols in zip(*parts, strict=True))
    ratings = np.full(len(res), np.nan)
    rated_rows = slice(len(res) - len(shown_resident) - int(rated.sum()), len(res) - len(shown_resident))
    ratings[rated_rows] = rating[rated]
    keep = ts < end.value
    comments = _comments(rng, ratings)
    frame = pd.DataFrame({
        C.RESIDENT: pd.Categorical.from_codes(res, categories=pop.residents[C.RESIDENT]),
        C.SERVICE: pd.Categorical.from_codes(svc, categories=services[C.SERVICE]),
        C.TIMESTAMP: pd.to_datetime(ts, unit="ns"),
        C.EVENT: pd.Categorical.from_codes(ev, categories=list(Vocab.EVENTS)),
        C.RATING: ratings,
        C.CHANNEL: pd.Categorical.from_codes(np.where(chan, 0, 1), categories=list(Vocab.EVENT_CHANNEL)),
        C.COMMENT: comments,
    })[keep]
    return frame.sort_values(C.TIMESTAMP, kind="stable").reset_index(drop=True)


def _job_search_registrations(rng: np.random.Generator, pop: Population, services: pd.DataFrame,
                              scores: np.ndarray, start: pd.Timestamp, weeks: int) -> tuple[np.ndarray, ...]:
    """Each job seeker registers once, in person, at the employment service they like best (求职登记)."""
    seeker = np.flatnonzero(pop.types[:, TYPES.index("job_seeker")])
    employment = np.flatnonzero(services[C.CATEGORY].to_numpy() == "employment")
    own = scores[np.ix_(seeker, employment)]
    offered = np.isfinite(own).any(axis=1)
    seeker, own = seeker[offered], own[offered]
    service = employment[np.argmax(np.where(np.isfinite(own), own, -np.inf), axis=1)]
    days = rng.integers(0, weeks * 7, len(seeker))
    hour = rng.integers(9, 17, len(seeker))
    when = start.value + (days * 86_400 + hour * 3600).astype(np.int64) * 10**9
    return seeker, service, when, np.full(len(seeker), _EVENT["use"]), np.zeros(len(seeker), bool)


def _comments(rng: np.random.Generator, ratings: np.ndarray) -> pd.Categorical:
    """A short comment on about a quarter of the ratings, in tone with the rating."""
    texts = [t for level in sorted(_COMMENTS) for t in _COMMENTS[level]]
    first = np.cumsum([0] + [len(_COMMENTS[level]) for level in sorted(_COMMENTS)])
    codes = np.full(len(ratings), -1)
    with_comment = ~np.isnan(ratings) & (rng.random(len(ratings)) < 0.25)
    level = np.nan_to_num(ratings, nan=1).astype(int)
    choice = first[level - 1] + (rng.random(len(ratings)) * (first[level] - first[level - 1])).astype(int)
    codes[with_comment] = choice[with_comment]
    return pd.Categorical.from_codes(codes, categories=texts)
