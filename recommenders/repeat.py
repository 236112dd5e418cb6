"""Repeat consumption learned from history: which services residents come back to, and which they do not.

A resident *consumed* a service when they booked, used or rated it. Their *occasions* with it are the most
distinct days they did one of those things (counted per event kind, so a booking followed by its use is one
occasion, two uses on two days are two). A service's *repeat rate* is the share of its consumers with two or
more occasions before the cut-off. Where fewer than ``min_consumers`` residents consumed a service, the pooled
rate of its category stands in; where the category is thin too, the rate is unknown and the service is treated
as repeatable (nothing is hidden on no evidence).

The policy (:class:`RepeatConfig`) decides which consumed services get no list place again:

- ``auto``: services flagged ``one_off`` in the data, and unflagged services whose repeat rate is below
  ``max_rate``. A service the data flags ``one_off = false`` stays repeatable whatever its rate: the flag wins
  where it is set.
- ``flag_only``: only services flagged ``one_off`` (Linli's behaviour before repeat rates were learned).
- ``never_repeat``: every consumed service (film ratings, courses, one-time sign-ups).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from features.columns import Columns as C
from features.columns import Vocab
from features.dataset import Dataset
from features.repeat_features import occasion_keys, pair_occasions

RepeatPolicy = Literal["auto", "flag_only", "never_repeat"]
#: Events that consume a service (a view or a click does not).
CONSUME_EVENTS = ("book", "use", "rate")


class RepeatConfig(BaseModel):
    """Which consumed services a recommender may list again.

    Attributes
    ----------
    policy : {"auto", "flag_only", "never_repeat"}
        See the module docstring.
    max_rate : float
        Under ``auto``, an unflagged service whose repeat rate is below this is treated as one-off.
    min_consumers : int
        Consumers a service needs for its own rate; below it, its category's pooled rate stands in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: RepeatPolicy = "auto"
    max_rate: float = Field(0.05, ge=0.0, le=1.0)
    min_consumers: int = Field(20, ge=1)


@dataclass(frozen=True)
class RepeatProfile:
    """What was learned about repeat consumption before a cut-off (service id-map order).

    Attributes
    ----------
    rate : numpy.ndarray
        Repeat rate of every service (its own, else its category's; NaN when unknown).
    no_repeat : numpy.ndarray
        Bool per service: once consumed, it gets no list place under the policy.
    consumed : scipy.sparse.csr_matrix
        Residents × services, 1 where the resident consumed the service before the cut-off.
    """

    rate: np.ndarray
    no_repeat: np.ndarray
    consumed: sp.csr_matrix

    def blocked(self, residents: np.ndarray) -> np.ndarray:
        """(len(residents) × services) bool: consumed and not repeated; rows of ids < 0 are all False."""
        residents = np.asarray(residents, dtype=np.int64)
        out = np.zeros((len(residents), len(self.no_repeat)), dtype=bool)
        known = residents >= 0
        if known.any() and self.no_repeat.any():
            out[known] = (self.consumed[residents[known]].toarray() > 0) & self.no_repeat[None, :]
        return out


def occasions(dataset: Dataset, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Consumption occasions of every (resident, service) pair with a book, use or rate event.

    Returns
    -------
    pandas.DataFrame
        ``resident`` and ``service`` (internal ids) and ``occasions``: the most distinct days of one
        consuming event kind (:func:`features.repeat_features.pair_occasions`, the ranker's definition too).
    """
    events = dataset.interactions if events is None else events
    m = len(dataset.service_ids)
    pair = dataset.resident_ids.to_internal(events[C.RESIDENT]) * m + dataset.service_ids.to_internal(events[C.SERVICE])
    event = pd.Categorical(events[C.EVENT].astype(str), categories=list(Vocab.EVENTS)).codes.astype(np.int64)
    stamps = events[C.TIMESTAMP].to_numpy(dtype="datetime64[ns]").view(np.int64)
    pairs, counts = pair_occasions(occasion_keys(pair, event, stamps))
    return pd.DataFrame({"resident": pairs // m, "service": pairs % m, "occasions": counts})


def repeat_rates(dataset: Dataset, min_consumers: int = 20) -> np.ndarray:
    """Repeat rate of every service (id-map order): own where ``min_consumers`` consumed it, else the
    category's pooled rate, else NaN."""
    pairs = occasions(dataset)
    m = len(dataset.service_ids)
    consumers = np.bincount(pairs["service"], minlength=m).astype(np.float64)
    repeaters = np.bincount(pairs["service"], weights=(pairs["occasions"] >= 2).to_numpy(dtype=np.float64),
                            minlength=m)
    rate = np.divide(repeaters, consumers, out=np.full(m, np.nan), where=consumers >= min_consumers)
    category = _categories(dataset)
    pooled_consumers = pd.Series(consumers).groupby(category).transform("sum").to_numpy()
    pooled_repeaters = pd.Series(repeaters).groupby(category).transform("sum").to_numpy()
    pooled = np.divide(pooled_repeaters, pooled_consumers, out=np.full(m, np.nan),
                       where=pooled_consumers >= min_consumers)
    return np.where(np.isnan(rate), pooled, rate)


def no_repeat_services(dataset: Dataset, rate: np.ndarray, config: RepeatConfig) -> np.ndarray:
    """Bool per service (id-map order): consumed once, it is not listed again under ``config.policy``."""
    flag = _one_off_flags(dataset)
    if config.policy == "never_repeat":
        return np.ones(len(flag), dtype=bool)
    flagged = flag == 1.0
    if config.policy == "flag_only":
        return flagged
    learned = np.isnan(flag) & ~np.isnan(rate) & (np.nan_to_num(rate, nan=1.0) < config.max_rate)
    return flagged | learned


def learn_repeat(dataset: Dataset, config: RepeatConfig) -> RepeatProfile:
    """Learn the :class:`RepeatProfile` from ``dataset`` (already cut at the model's cut-off)."""
    pairs = occasions(dataset)
    consumed = sp.csr_matrix((np.ones(len(pairs)), (pairs["resident"], pairs["service"])),
                             shape=(len(dataset.resident_ids), len(dataset.service_ids)), dtype=np.float64)
    rate = repeat_rates(dataset, config.min_consumers)
    return RepeatProfile(rate=rate, no_repeat=no_repeat_services(dataset, rate, config), consumed=consumed)


def _services_in_order(dataset: Dataset) -> pd.DataFrame:
    return dataset.services.set_index(C.SERVICE).reindex(dataset.service_ids.external)


def _categories(dataset: Dataset) -> np.ndarray:
    category = _services_in_order(dataset)[C.CATEGORY].astype(object).fillna("")
    return pd.factorize(category.to_numpy())[0]


def _one_off_flags(dataset: Dataset) -> np.ndarray:
    """1.0 / 0.0 where the data sets ``one_off``, NaN where it does not."""
    services = _services_in_order(dataset)
    if C.ONE_OFF not in services.columns:
        return np.full(len(services), np.nan)
    return services[C.ONE_OFF].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


__all__ = ["CONSUME_EVENTS", "RepeatConfig", "RepeatPolicy", "RepeatProfile", "learn_repeat", "no_repeat_services",
           "occasions", "repeat_rates"]
