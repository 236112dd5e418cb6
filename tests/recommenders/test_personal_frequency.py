"""Personal frequency filled by popularity: the shared contract, own services first, recency, repeat-awareness."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.base import Recommender
from recommenders.personal_frequency import PersonalFrequencyRecommender
from recommenders.testing import RecommenderContract, without_one_off_flags


class TestPersonalFrequency(RecommenderContract):
    min_ndcg_lift_over_random = 2.5

    def make_model(self) -> Recommender:
        return PersonalFrequencyRecommender()


def _log(dataset: Dataset, rows: list[tuple[int, int, str, str]]) -> Dataset:
    """``dataset`` with only the given (resident position, service position, day, event) interactions."""
    residents = dataset.resident_ids.external.to_numpy()
    services = dataset.service_ids.external.to_numpy()
    events = pd.DataFrame({C.RESIDENT: [residents[r] for r, _, _, _ in rows],
                           C.SERVICE: [services[s] for _, s, _, _ in rows],
                           C.TIMESTAMP: pd.to_datetime([d for _, _, d, _ in rows]),
                           C.EVENT: [e for _, _, _, e in rows]})
    events = events.assign(**{C.RATING: np.nan, C.CHANNEL: "offline", C.COMMENT: pd.NA})
    events = events.astype(dataset.interactions.dtypes.to_dict()).sort_values(C.TIMESTAMP).reset_index(drop=True)
    return without_one_off_flags(dataclasses.replace(dataset, interactions=events))


def _everyone_uses_service_9(days: list[str]) -> list[tuple[int, int, str, str]]:
    return [(r, 9, day, "use") for r in range(10, 40) for day in days]


def test_own_services_come_first_then_popularity(dataset: Dataset) -> None:
    rows = _everyone_uses_service_9(["2026-09-01", "2026-09-20"])
    rows += [(0, 3, "2026-09-10", "use"), (0, 3, "2026-09-24", "use"), (0, 5, "2026-09-15", "use")]
    model = PersonalFrequencyRecommender(half_life_days=None).fit(_log(dataset, rows), "2026-10-01")
    resident = dataset.resident_ids.external[0]
    services = dataset.service_ids.external
    listed = model.recommend([resident], k=3)[C.SERVICE].tolist()
    assert listed == [services[3], services[5], services[9]]
    stranger = model.recommend([dataset.resident_ids.external[1]], k=1)[C.SERVICE].item()
    assert stranger == services[9], "a resident without history gets the most used service"


def test_recent_use_outweighs_older_frequent_use(dataset: Dataset) -> None:
    rows = _everyone_uses_service_9(["2026-09-01", "2026-09-20"])
    rows += [(0, 3, day, "use") for day in ("2026-03-01", "2026-03-08", "2026-03-15")]
    rows += [(0, 5, "2026-09-28", "use"), (0, 5, "2026-09-01", "use")]
    data = _log(dataset, rows)
    services = dataset.service_ids.external
    resident = [dataset.resident_ids.external[0]]
    counted = PersonalFrequencyRecommender(half_life_days=None).fit(data, "2026-10-01")
    assert counted.recommend(resident, k=1)[C.SERVICE].item() == services[3]
    decayed = PersonalFrequencyRecommender(half_life_days=30).fit(data, "2026-10-01")
    assert decayed.recommend(resident, k=1)[C.SERVICE].item() == services[5]


def test_a_service_nobody_repeats_is_not_listed_again(dataset: Dataset) -> None:
    rows = _everyone_uses_service_9(["2026-09-01", "2026-09-20"])
    rows += [(r, 4, "2026-09-05", "use") for r in range(0, 40)]  # 40 residents, each once: a one-time sign-up
    model = PersonalFrequencyRecommender().fit(_log(dataset, rows), "2026-10-01")
    listed = model.recommend([dataset.resident_ids.external[0]], k=5)[C.SERVICE].tolist()
    assert dataset.service_ids.external[4] not in listed
    assert listed[0] == dataset.service_ids.external[9]
