"""Simulated residents: they react to served lists by their true preferences, as the generator's residents do.

The true score of every (resident, service) comes from the generated community's ``ground_truth.parquet``,
which no model reads. The reaction model is the generator's own (:mod:`features.sources.synthetic.reactions`):
a resident opening the app has a few needs, each drawn as the generator draws an engagement (softmax over their
true scores). They look down the served list as the DCG discount says (position ``r`` is looked at with
probability ``1 / log2(r + 1)``); a service they look at and need runs the generator's funnel: view, click
(more likely the higher its true score), book, use, rate. Every other served service stays an impression, like
the generator's shown-but-not-chosen services. Every served service gets an ``impression`` event, as a platform
app logs them; all events fall on the simulated day of the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from features.columns import LIST_SEPARATOR
from features.columns import Columns as C
from features.sources.synthetic import GROUND_TRUTH_FILE
from features.sources.synthetic.reactions import (
    FUNNEL,
    RATE_ONLINE,
    RATING_NOISE,
    USE_AFTER_BOOK,
    click_probability,
    intent_probabilities,
    star_ratings,
    step_probability,
)

_DAY_NS: Final = 86_400 * 10**9
_SECOND: Final = 10**9


class GroundTruthError(FileNotFoundError):
    """The data folder has no readable ``ground_truth.parquet`` (simulation needs a generated community)."""


@dataclass(frozen=True)
class TruePreferences:
    """True scores of every resident for every service (NaN: not eligible or not offered)."""

    scores: np.ndarray
    residents: pd.Index
    services: pd.Index

    @classmethod
    def read(cls, folder: str | Path) -> TruePreferences:
        """Read the true scores a generated community folder holds.

        Raises
        ------
        GroundTruthError
            When ``folder`` has no ground truth (only ``linli generate`` folders do).
        """
        path = Path(folder) / GROUND_TRUTH_FILE
        if not path.exists():
            raise GroundTruthError(f"{path} not found: simulation needs a community made by `linli generate`")
        table = pq.read_table(path, columns=[C.RESIDENT, "true_scores"])
        meta = table.schema.metadata or {}
        services = meta.get(b"service_order", b"").decode().split(LIST_SEPARATOR)
        flat = table.column("true_scores").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        scores = np.asarray(flat, dtype=np.float32).reshape(table.num_rows, len(services))
        return cls(scores, pd.Index(table.column(C.RESIDENT).to_pylist()), pd.Index(services))

    def of(self, resident_id: str, service_ids: list[str]) -> np.ndarray:
        """True scores of one resident for the listed services (NaN for unknown services)."""
        row = self.residents.get_loc(resident_id)
        cols = self.services.get_indexer(service_ids)
        values = np.full(len(service_ids), np.nan, dtype=np.float64)
        values[cols >= 0] = self.scores[row, cols[cols >= 0]]
        return values


def examine_probability(positions: np.ndarray) -> np.ndarray:
    """Probability that a resident looks at the service at 1-based ``positions`` (the DCG discount)."""
    return 1.0 / np.log2(np.asarray(positions, dtype=np.float64) + 1.0)


class SimulatedResidents:
    """Residents who react to served lists by their true preferences.

    Parameters
    ----------
    truth : TruePreferences
    seed : int
    needs_per_visit : int
        Services a resident is looking for when they open the app, each drawn as the generator draws an
        engagement (softmax over their true scores). A served service is engaged with only if it is one of them
        and the resident looks at it; every other served service stays an impression, as the generator's
        shown-but-not-chosen services do.
    """

    def __init__(self, truth: TruePreferences, seed: int = 0, needs_per_visit: int = 3) -> None:
        if needs_per_visit < 1:
            raise ValueError(f"needs_per_visit must be at least 1, got {needs_per_visit}")
        self.truth = truth
        self.needs_per_visit = needs_per_visit
        self.rng = np.random.default_rng(seed)

    def sample(self, n: int) -> list[str]:
        """``n`` distinct residents (all of them when fewer exist), in random order."""
        n = min(n, len(self.truth.residents))
        return [str(r) for r in self.rng.choice(self.truth.residents.to_numpy(dtype=object), n, replace=False)]

    def request_times(self, day: pd.Timestamp, n: int) -> list[pd.Timestamp]:
        """When ``n`` residents open the app on ``day``: between 07:00 and 21:00."""
        seconds = self.rng.integers(7 * 3600, 21 * 3600, n)
        return [day + pd.Timedelta(seconds=int(s)) for s in seconds]

    def _wanted(self, resident_id: str, service_ids: list[str]) -> np.ndarray:
        """Probability that each listed service is among the resident's needs of one visit."""
        row = self.truth.scores[self.truth.residents.get_loc(resident_id)]
        intent = intent_probabilities(row)
        cols = self.truth.services.get_indexer(service_ids)
        p = np.where(cols >= 0, intent[np.maximum(cols, 0)], 0.0)
        return 1.0 - (1.0 - p) ** self.needs_per_visit

    def expected_clicks(self, resident_id: str, service_ids: list[str]) -> np.ndarray:
        """Click probability of every listed service under this reaction model (for evaluation only)."""
        true = self.truth.of(resident_id, service_ids)
        seen = examine_probability(np.arange(1, len(service_ids) + 1))
        view = step_probability("view", true)
        return self._wanted(resident_id, service_ids) * seen * view * click_probability(true)

    def react(self, request_id: str, resident_id: str, service_ids: list[str], when: pd.Timestamp
              ) -> list[dict[str, Any]]:
        """Feedback events (``POST /feedback`` bodies) of one resident to one served list.

        Parameters
        ----------
        request_id, resident_id : str
            As the API returned them.
        service_ids : list of str
            The served services, best first.
        when : pandas.Timestamp
            When the list was served (naive local time); every event falls before the end of that day.
        """
        if not service_ids:
            return []
        n = len(service_ids)
        true = self.truth.of(resident_id, service_ids)
        row = self.truth.scores[self.truth.residents.get_loc(resident_id)]
        needs = self.rng.choice(len(row), self.needs_per_visit, p=intent_probabilities(row))
        wanted = np.isin(self.truth.services.get_indexer(service_ids), needs)
        day_end = when.normalize().value + _DAY_NS - _SECOND
        rows: list[tuple[int, str, int, float | None]] = [(i, "impression", when.value, None) for i in range(n)]
        reach = wanted & (self.rng.random(n) < examine_probability(np.arange(1, n + 1)))
        stamp = np.full(n, when.value, dtype=np.int64)
        for event, _fixed, seconds in FUNNEL[1:]:
            reach &= self.rng.random(n) < step_probability(event, true)
            stamp += (seconds + self.rng.integers(0, 30, n)) * _SECOND
            rows += [(int(i), event, int(stamp[i]), None) for i in np.flatnonzero(reach)]
        used = reach & (self.rng.random(n) < USE_AFTER_BOOK)
        use_time = stamp + self.rng.integers(1800, 4 * 3600, n) * _SECOND
        rows += [(int(i), "use", int(use_time[i]), None) for i in np.flatnonzero(used)]
        rated = used & (self.rng.random(n) < RATE_ONLINE)
        stars = star_ratings(true, self.rng.normal(0, RATING_NOISE, n))
        rate_time = use_time + self.rng.integers(600, 7200, n) * _SECOND
        rows += [(int(i), "rate", int(rate_time[i]), float(stars[i])) for i in np.flatnonzero(rated)]
        return [{"request_id": request_id, "resident_id": resident_id, "service_id": service_ids[i], "event": event,
                 "timestamp": pd.Timestamp(min(t, day_end)).isoformat(), "channel": "online",
                 **({"rating": rating} if rating is not None else {})}
                for i, event, t, rating in rows]


__all__ = ["GroundTruthError", "SimulatedResidents", "TruePreferences", "examine_probability"]
