"""Time-aware popularity: recency chosen on the training history's last weeks only, seen one-offs never shown
again, and the plain count (``popular_count``) as it always was."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.popular import PopularCountRecommender, PopularRecommender, service_popularity
from recommenders.recency import RECENCY_GRID, Recency
from recommenders.registry import make_recommender

CUTOFF = pd.Timestamp("2026-11-01")


def _events(dataset: Dataset, rows: list[tuple[int, int, str]]) -> Dataset:
    """A dataset whose interactions are ``(resident index, service index, day)`` ``use`` events."""
    residents = dataset.resident_ids.external.to_numpy()
    services = dataset.service_ids.external.to_numpy()
    events = pd.DataFrame({C.RESIDENT: [residents[r] for r, _, _ in rows],
                           C.SERVICE: [services[s] for _, s, _ in rows],
                           C.TIMESTAMP: [pd.Timestamp(day) + pd.Timedelta(hours=10) for _, _, day in rows]})
    events = events.assign(**{C.EVENT: "use", C.RATING: np.nan, C.CHANNEL: "offline", C.COMMENT: pd.NA})
    events = events.astype(dataset.interactions.dtypes.to_dict()).reset_index(drop=True)
    return dataclasses.replace(dataset, interactions=events)


def _shifting(dataset: Dataset, after_cutoff: list[tuple[int, int, str]]) -> Dataset:
    """Service 0 used by many residents in the summer; service 1 by a few each week since mid-September."""
    old = [(r, 0, "2026-07-01") for r in range(40)]
    recent = [(100 + r, 1, str(pd.Timestamp("2026-09-15") + pd.Timedelta(days=3 * r))[:10]) for r in range(15)]
    return _events(dataset, old + recent + after_cutoff)


def test_auto_chooses_a_recent_count_when_recent_interest_predicts_the_validation_weeks(dataset: Dataset) -> None:
    model = PopularRecommender(recency="auto").fit(_shifting(dataset, []), CUTOFF)
    assert model.recency_.kind != "all"
    assert model.recency_choice_ is not None
    assert set(model.recency_choice_.validation_ndcg) == {r.label() for r in RECENCY_GRID}
    assert model.recency_choice_.validation_ndcg[model.recency_.label()] > model.recency_choice_.validation_ndcg["all"]
    first, second = dataset.service_ids.external[:2]
    assert model.recommend([dataset.resident_ids.external[0]], k=1)[C.SERVICE].item() == second
    assert PopularRecommender(recency="all").fit(_shifting(dataset, []), CUTOFF).recommend(
        [dataset.resident_ids.external[200]], k=1)[C.SERVICE].item() == first


def test_auto_never_reads_events_after_the_cutoff(dataset: Dataset) -> None:
    quiet = PopularRecommender(recency="auto").fit(_shifting(dataset, []), CUTOFF)
    # After the cut-off service 0 comes back in force: a choice that peeked at it would prefer all-time counts.
    loud = PopularRecommender(recency="auto").fit(
        _shifting(dataset, [(r, 0, "2026-11-03") for r in range(200, 400)]), CUTOFF)
    assert loud.recency_ == quiet.recency_
    assert loud.recency_choice_ == quiet.recency_choice_
    np.testing.assert_array_equal(loud.popularity_, quiet.popularity_)


def test_a_fixed_recency_skips_the_choice(dataset: Dataset) -> None:
    model = PopularRecommender(recency="window", recency_days=14).fit(_shifting(dataset, []), CUTOFF)
    assert model.recency_ == Recency("window", 14) and model.recency_choice_ is None
    assert model.popularity_[0] == 0.0  # the summer's service is outside the last two weeks
    with pytest.raises(ValueError, match="recency_days"):
        PopularRecommender(recency="half_life")


def test_consumed_one_off_services_are_not_recommended_again_but_repeatable_ones_are(dataset: Dataset) -> None:
    data = _shifting(dataset, [])
    one_off = data.services[C.ONE_OFF].astype("boolean").copy()
    one_off.iloc[:2] = [pd.NA, False]  # service 0: unknown (not known repeatable), service 1: repeatable
    data = dataclasses.replace(data, services=data.services.assign(**{C.ONE_OFF: one_off}))
    model = PopularRecommender(recency="all").fit(data, CUTOFF)
    first, second = data.service_ids.external[:2]
    used_first, used_second = data.resident_ids.external[0], data.resident_ids.external[100]
    lists = model.recommend([used_first, used_second], k=5)
    assert first not in set(lists.loc[lists[C.RESIDENT] == used_first, C.SERVICE])
    assert second in set(lists.loc[lists[C.RESIDENT] == used_second, C.SERVICE])


def test_the_plain_count_is_unchanged(dataset: Dataset) -> None:
    model = make_recommender("popular_count").fit(dataset, CUTOFF)
    assert isinstance(model, PopularCountRecommender)
    np.testing.assert_allclose(model.popularity_, service_popularity(model.history_))
    ids = dataset.resident_ids.external.to_numpy()[:30]
    lists = model.recommend(ids, k=5).groupby(C.RESIDENT)[C.SERVICE].apply(tuple)
    assert lists.nunique() == 1  # the same list for everyone, what they used included
    heaviest = dataset.service_ids.external[np.argsort(-model.history_.sum(axis=0).A1, kind="stable")[:5]]
    assert list(lists.iloc[0]) == list(heaviest)
