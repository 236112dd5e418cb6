"""Repeat consumption learned from history, and every registered generator honouring it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.popular import PopularRecommender
from recommenders.registry import RECOMMENDERS, make_recommender
from recommenders.repeat import RepeatConfig, learn_repeat, occasions, repeat_rates
from recommenders.testing import K, holdout_cutoff, never_repeated, without_one_off_flags


def _events(rows: list[tuple[str, str, str, str]], template: Dataset) -> Dataset:
    """``template`` with its interactions replaced by (resident, service, day, event) rows."""
    frame = pd.DataFrame(rows, columns=[C.RESIDENT, C.SERVICE, C.TIMESTAMP, C.EVENT])
    frame[C.TIMESTAMP] = pd.to_datetime(frame[C.TIMESTAMP])
    frame[C.RATING] = np.where(frame[C.EVENT] == "rate", 4.0, np.nan)
    frame[C.CHANNEL] = "online"
    frame[C.COMMENT] = pd.NA
    frame = frame.astype(template.interactions.dtypes.to_dict())
    return dataclasses.replace(template, interactions=frame.sort_values(C.TIMESTAMP).reset_index(drop=True))


@pytest.fixture(scope="module")
def small(dataset: Dataset) -> tuple[Dataset, list[str], list[str]]:
    """30 residents; service A used again on another day by half of them, B booked then used once by all."""
    residents = list(dataset.resident_ids.external[:30])
    a, b = (str(s) for s in dataset.service_ids.external[:2])
    rows = []
    for i, r in enumerate(residents):
        rows += [(r, a, "2026-01-05", "use"), (r, b, "2026-01-05", "book"), (r, b, "2026-01-07", "use"),
                 (r, b, "2026-01-07", "rate")]
        if i % 2:
            rows.append((r, a, "2026-02-05", "use"))
    return without_one_off_flags(_events(rows, dataset)), residents, [a, b]


def test_a_booking_and_its_use_are_one_occasion_two_uses_two(small: tuple[Dataset, list[str], list[str]]) -> None:
    data, _, (a, b) = small
    pairs = occasions(data)
    a_id, b_id = data.service_ids.to_internal([a, b])
    assert set(pairs.loc[pairs["service"] == b_id, "occasions"]) == {1}
    assert sorted(set(pairs.loc[pairs["service"] == a_id, "occasions"])) == [1, 2]
    rate = repeat_rates(data, min_consumers=20)
    assert rate[a_id] == pytest.approx(0.5) and rate[b_id] == 0.0


def test_policies_and_the_one_off_flag(small: tuple[Dataset, list[str], list[str]]) -> None:
    data, _, (a, b) = small
    a_id, b_id = data.service_ids.to_internal([a, b])
    auto = learn_repeat(data, RepeatConfig()).no_repeat
    assert not auto[a_id] and auto[b_id]
    assert not learn_repeat(data, RepeatConfig(policy="flag_only")).no_repeat[[a_id, b_id]].any()
    assert learn_repeat(data, RepeatConfig(policy="never_repeat")).no_repeat[[a_id, b_id]].all()
    services = data.services.copy()
    services[C.ONE_OFF] = services[C.SERVICE].astype(str).map({a: True, b: False}).astype("boolean")
    flagged = dataclasses.replace(data, services=services)
    wins = learn_repeat(flagged, RepeatConfig()).no_repeat
    assert wins[a_id] and not wins[b_id], "a one_off flag set in the data wins over the learned rate"


def test_thin_services_take_their_categorys_rate_and_unknown_ones_stay_listable(
        small: tuple[Dataset, list[str], list[str]]) -> None:
    data, _, (a, b) = small
    a_id, b_id = data.service_ids.to_internal([a, b])
    services = data.services.copy()
    category = services.loc[services[C.SERVICE].astype(str) == a, C.CATEGORY].iloc[0]
    services.loc[services[C.SERVICE].astype(str) == b, C.CATEGORY] = category
    shared = dataclasses.replace(data, services=services)
    pooled = learn_repeat(shared, RepeatConfig(min_consumers=31))  # 30 consumers each, 60 in the category
    assert pooled.rate[a_id] == pooled.rate[b_id] == pytest.approx(15 / 60)
    assert not pooled.no_repeat[b_id]
    unknown = learn_repeat(shared, RepeatConfig(min_consumers=61))
    assert np.isnan(unknown.rate[[a_id, b_id]]).all() and not unknown.no_repeat.any()


def test_popularity_skips_what_the_resident_consumed_and_nobody_repeats(
        small: tuple[Dataset, list[str], list[str]]) -> None:
    data, residents, (a, b) = small
    model = PopularRecommender(recency="all").fit(data)  # plain counts: the fixture's a is the most used
    lists = model.recommend(residents, k=5)
    assert not (lists[C.SERVICE] == b).any()
    assert (lists.groupby(C.RESIDENT)[C.SERVICE].first() == a).all()
    outsider = data.resident_ids.external[100]
    assert model.recommend([outsider], k=2)[C.SERVICE].tolist()[0] == b, "not consumed by them: still listed"


@pytest.mark.parametrize("name", sorted(RECOMMENDERS))
def test_every_registered_generator_gives_no_place_to_consumed_non_repeats(name: str, dataset: Dataset) -> None:
    cutoff = holdout_cutoff(dataset)
    data = without_one_off_flags(dataset)
    consumed = never_repeated(data.until(cutoff))
    assert not consumed.empty
    model = make_recommender(name).fit(data, cutoff)
    residents = pd.unique(consumed[C.RESIDENT])[:200]
    lists = model.recommend(residents, k=len(data.service_ids))
    assert lists.merge(consumed, on=[C.RESIDENT, C.SERVICE]).empty
    assert lists.groupby(C.RESIDENT).size().min() >= K
