"""The contract every recommender passes, shipped with the package (as LensKit's ``lenskit.testing``).

A model's test file is mostly one class::

    class TestALS(RecommenderContract):
        min_ndcg_lift_over_popular = 1.05

        def make_model(self) -> Recommender:
            return ALSRecommender()

It needs the session fixture ``dataset`` (a synthetic community, see ``tests/conftest.py``). Quality is
measured with a time split: the last ``HOLDOUT_WEEKS`` weeks are held out and NDCG@10 is computed on the
services residents booked, used or rated in them (nothing excluded), against random scores and global
popularity. :func:`ndcg_at_k` is a small local helper, not the official metric of ``training``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from features.errors import UnknownIdError
from recommenders.base import RANK, SCORE, Recommender
from recommenders.errors import NotFittedError
from recommenders.popular import PopularRecommender

HOLDOUT_WEEKS = 4
#: Events that count as relevant in the held-out window.
RELEVANT_EVENTS = ("book", "use", "rate")
K = 10


def holdout_cutoff(dataset: Dataset, weeks: int = HOLDOUT_WEEKS) -> pd.Timestamp:
    """Midnight ``weeks`` weeks before the day after the last interaction."""
    return dataset.history_end() - pd.Timedelta(weeks=weeks)


def relevant_pairs(dataset: Dataset, start: pd.Timestamp, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Distinct (resident_id, service_id) with a book/use/rate event in ``[start, end)``."""
    events = dataset.interactions
    stamps = events[C.TIMESTAMP]
    window = (stamps >= start) & (stamps < end) if end is not None else stamps >= start
    window &= events[C.EVENT].astype(str).isin(RELEVANT_EVENTS)
    pairs = events.loc[window.to_numpy(dtype=bool), [C.RESIDENT, C.SERVICE]].astype(object)
    return pairs.drop_duplicates().reset_index(drop=True)


def ndcg_at_k(recommendations: pd.DataFrame, relevant: pd.DataFrame, k: int = K) -> float:
    """Mean binary NDCG@k over the residents that have a relevant service.

    Parameters
    ----------
    recommendations : pandas.DataFrame
        ``resident_id, service_id, rank`` (rank 1 is best); residents without a list score 0.
    relevant : pandas.DataFrame
        Distinct ``resident_id, service_id`` pairs that count as hits.
    k : int
        Cut-off.
    """
    if relevant.empty:
        raise ValueError("no relevant pairs: NDCG is undefined")
    top = recommendations[recommendations[RANK] <= k]
    hits = top.merge(relevant.assign(_hit=True), on=[C.RESIDENT, C.SERVICE], how="left")
    gain = hits["_hit"].fillna(False).to_numpy(dtype=bool) / np.log2(hits[RANK].to_numpy(dtype=float) + 1.0)
    dcg = pd.Series(gain).groupby(hits[C.RESIDENT].to_numpy()).sum()
    n_relevant = relevant.groupby(C.RESIDENT).size()
    discounts = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    ideal = discounts[np.minimum(n_relevant.to_numpy(), k) - 1]
    per_resident = dcg.reindex(n_relevant.index, fill_value=0.0).to_numpy() / ideal
    return float(per_resident.mean())


def random_ndcg(dataset: Dataset, relevant: pd.DataFrame, k: int = K, seeds: int = 5) -> float:
    """Expected NDCG@k of ranking services at random (mean over ``seeds`` draws)."""
    residents = pd.unique(relevant[C.RESIDENT])
    services = dataset.service_ids.external.to_numpy()
    values = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        top = np.argsort(rng.random((len(residents), len(services))), axis=1)[:, :k]
        frame = pd.DataFrame({C.RESIDENT: np.repeat(residents, top.shape[1]), C.SERVICE: services[top.ravel()],
                              RANK: np.tile(np.arange(1, top.shape[1] + 1), len(residents))})
        values.append(ndcg_at_k(frame, relevant, k))
    return float(np.mean(values))


def model_ndcg(model: Recommender, relevant: pd.DataFrame, k: int = K) -> float:
    """NDCG@k of a fitted model's top-k lists for the residents of ``relevant`` (nothing excluded)."""
    residents = pd.unique(relevant[C.RESIDENT])
    return ndcg_at_k(model.recommend(residents, k=k), relevant, k)


def _shift_later_events(dataset: Dataset, cutoff: pd.Timestamp) -> Dataset:
    """The same dataset with every event at or after ``cutoff`` moved to another service and event."""
    events = dataset.interactions.copy()
    later = (events[C.TIMESTAMP] >= cutoff).to_numpy(dtype=bool)
    services = dataset.service_ids.external.to_numpy()
    position = dataset.service_ids.to_internal(events.loc[later, C.SERVICE])
    events.loc[later, C.SERVICE] = services[(position + 7) % len(services)]
    events.loc[later, C.EVENT] = "use"
    events.loc[later, C.RATING] = np.nan
    return dataclasses.replace(dataset, interactions=events)


def without_one_off_flags(dataset: Dataset) -> Dataset:
    """The same dataset with the services' ``one_off`` flag unset, so repeat behaviour must be learned."""
    services = dataset.services.copy()
    services[C.ONE_OFF] = pd.Series(pd.NA, index=services.index, dtype="boolean")
    return dataclasses.replace(dataset, services=services)


def never_repeated(history: Dataset, min_consumers: int = 20) -> pd.DataFrame:
    """(resident_id, service_id) pairs consumed in ``history`` of services nobody came back to.

    A service counts when at least ``min_consumers`` residents booked, used or rated it and none of them did
    the same kind of thing with it on two different days.
    """
    events = history.interactions
    kind = events[C.EVENT].astype(str)
    consumed = events.loc[kind.isin(RELEVANT_EVENTS).to_numpy(dtype=bool)]
    frame = pd.DataFrame({C.RESIDENT: consumed[C.RESIDENT].astype(str).to_numpy(),
                          C.SERVICE: consumed[C.SERVICE].astype(str).to_numpy(),
                          "kind": consumed[C.EVENT].astype(str).to_numpy(),
                          "day": consumed[C.TIMESTAMP].dt.floor("D").to_numpy()})
    days = frame.groupby([C.RESIDENT, C.SERVICE, "kind"])["day"].nunique()
    came_back = (days >= 2).groupby(level=[C.RESIDENT, C.SERVICE]).any().reset_index(name="back")
    per_service = came_back.groupby(C.SERVICE)["back"].agg(["size", "sum"])
    never = per_service.index[(per_service["size"] >= min_consumers) & (per_service["sum"] == 0)]
    return came_back.loc[came_back[C.SERVICE].isin(never), [C.RESIDENT, C.SERVICE]].reset_index(drop=True)


def block_dataset(template: Dataset, groups: int = 3, per_group: int = 150, services_per_group: int = 5,
                  seed: int = 0) -> tuple[Dataset, pd.Series]:
    """A dataset whose right answer is known: residents in ``groups`` blocks, each block using its own services.

    Every resident of block ``g`` used all services of block ``g`` except one (chosen at random); a model
    that learns from co-use must rank that one first once the used ones are excluded.

    Returns
    -------
    dataset : Dataset
        ``template`` with its interactions replaced by the block pattern.
    held_out : pandas.Series
        The missing service of every block resident, indexed by resident id.
    """
    rng = np.random.default_rng(seed)
    residents = template.resident_ids.external.to_numpy()[: groups * per_group]
    services = template.service_ids.external.to_numpy()[: groups * services_per_group].reshape(groups, -1)
    block = np.repeat(np.arange(groups), per_group)
    missing = rng.integers(0, services_per_group, len(residents))
    own = services[block]  # (residents, services_per_group)
    used = np.ones_like(own, dtype=bool)
    used[np.arange(len(residents)), missing] = False
    who = np.repeat(residents, used.sum(axis=1))
    what = own[used]
    start = pd.Timestamp(template.interactions[C.TIMESTAMP].min())
    when = start + pd.to_timedelta(rng.integers(0, 90 * 86_400, len(who)), unit="s")
    events = pd.DataFrame({C.RESIDENT: who, C.SERVICE: what, C.TIMESTAMP: when, C.EVENT: "use",
                           C.RATING: np.nan, C.CHANNEL: "offline", C.COMMENT: pd.NA})
    events = events.astype(template.interactions.dtypes.to_dict()).sort_values(C.TIMESTAMP, kind="stable")
    held_out = pd.Series(own[np.arange(len(residents)), missing], index=pd.Index(residents, name=C.RESIDENT))
    return dataclasses.replace(template, interactions=events.reset_index(drop=True)), held_out


class RecommenderContract:
    """Tests every :class:`~recommenders.base.Recommender` must pass; subclass it and set the hooks.

    Attributes
    ----------
    min_ndcg_lift_over_random : float
        The model's NDCG@10 on the held-out weeks must be at least this multiple of random ranking's.
    min_ndcg_lift_over_popular : float or None
        If set (personalised models), at least this multiple of global popularity's NDCG@10.
    learns_from_co_use : bool
        The model scores services by what residents with a similar history used: it must complete the
        :func:`block_dataset` pattern.
    """

    min_ndcg_lift_over_random: ClassVar[float] = 2.0
    min_ndcg_lift_over_popular: ClassVar[float | None] = None
    learns_from_co_use: ClassVar[bool] = False

    def make_model(self) -> Recommender:
        """A fresh, unfitted model with the configuration under test."""
        raise NotImplementedError

    # ----- fixtures -------------------------------------------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def cutoff(cls, dataset: Dataset) -> pd.Timestamp:
        return holdout_cutoff(dataset)

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, dataset: Dataset, cutoff: pd.Timestamp) -> Recommender:
        return cls().make_model().fit(dataset, cutoff)

    @pytest.fixture(scope="class")
    @classmethod
    def some_residents(cls, dataset: Dataset) -> np.ndarray:
        return dataset.resident_ids.external.to_numpy()[:200]

    @pytest.fixture(scope="class")
    @classmethod
    def relevant(cls, dataset: Dataset, cutoff: pd.Timestamp) -> pd.DataFrame:
        return relevant_pairs(dataset, cutoff)

    # ----- fitting --------------------------------------------------------------------------------------
    def test_fit_returns_self_and_is_deterministic(self, dataset: Dataset, cutoff: pd.Timestamp,
                                                   fitted: Recommender, some_residents: np.ndarray) -> None:
        model = self.make_model()
        assert model.fit(dataset, cutoff) is model
        pd.testing.assert_frame_equal(model.recommend(some_residents, k=K), fitted.recommend(some_residents, k=K))

    def test_unfitted_model_raises(self, some_residents: np.ndarray, tmp_path: Path) -> None:
        model = self.make_model()
        with pytest.raises(NotFittedError, match="fit"):
            model.recommend(some_residents[:3])
        with pytest.raises(NotFittedError):
            model.save(tmp_path / "model.pkl")

    def test_events_after_cutoff_change_nothing(self, dataset: Dataset, cutoff: pd.Timestamp,
                                                fitted: Recommender, some_residents: np.ndarray) -> None:
        shifted = self.make_model().fit(_shift_later_events(dataset, cutoff), cutoff)
        pd.testing.assert_frame_equal(shifted.recommend(some_residents, k=K), fitted.recommend(some_residents, k=K))

    # ----- recommending ---------------------------------------------------------------------------------
    def test_recommend_gives_k_ranked_rows_per_resident(self, fitted: Recommender,
                                                        some_residents: np.ndarray) -> None:
        out = fitted.recommend(some_residents, k=7)
        assert list(out.columns) == [C.RESIDENT, C.SERVICE, SCORE, RANK]
        assert out.groupby(C.RESIDENT).size().eq(7).all() and out[C.RESIDENT].nunique() == len(some_residents)
        assert (out[RANK].to_numpy() == np.tile(np.arange(1, 8), len(some_residents))).all()
        assert not out.duplicated([C.RESIDENT, C.SERVICE]).any()
        steps = out.groupby(C.RESIDENT, sort=False)[SCORE].diff().dropna()
        assert (steps <= 0).all(), "scores must not increase with rank"
        assert np.isfinite(out[SCORE]).all()

    def test_external_ids_in_and_out(self, dataset: Dataset, fitted: Recommender,
                                     some_residents: np.ndarray) -> None:
        asked = some_residents[[5, 1, 3]]
        out = fitted.recommend(list(asked), k=3)
        assert list(pd.unique(out[C.RESIDENT])) == list(asked)
        assert out[C.SERVICE].isin(dataset.service_ids.external).all()

    def test_unknown_resident_raises(self, fitted: Recommender, some_residents: np.ndarray) -> None:
        with pytest.raises(UnknownIdError, match="NOT-A-RESIDENT"):
            fitted.recommend([some_residents[0], "NOT-A-RESIDENT"])

    def test_exclude_seen_removes_history(self, fitted: Recommender, some_residents: np.ndarray) -> None:
        out = fitted.recommend(some_residents, k=K, exclude_seen=True)
        rows = fitted.resident_ids_.to_internal(out[C.RESIDENT])
        cols = fitted.service_ids_.to_internal(out[C.SERVICE])
        assert fitted.history_[fitted.resident_ids_.to_internal(some_residents)].nnz > 0, "sample needs history"
        assert (np.asarray(fitted.history_[rows, cols]).ravel() == 0).all()

    def test_no_place_for_consumed_services_nobody_repeats(self, dataset: Dataset, cutoff: pd.Timestamp) -> None:
        unflagged = without_one_off_flags(dataset)
        consumed = never_repeated(unflagged.until(cutoff))
        assert not consumed.empty, "the fixture needs services nobody repeats"
        model = self.make_model().fit(unflagged, cutoff)
        residents = pd.unique(consumed[C.RESIDENT])[:300]
        lists = model.recommend(residents, k=len(dataset.service_ids))  # every place, not only the first K
        clash = lists.merge(consumed, on=[C.RESIDENT, C.SERVICE])
        assert clash.empty, f"{len(clash)} list places went to consumed services nobody repeats:\n{clash.head()}"

    # ----- parameters and persistence -------------------------------------------------------------------
    def test_get_params_is_flat_and_json_ready(self, fitted: Recommender) -> None:
        params = fitted.get_params()
        assert params and all(key.startswith(f"{fitted.name}.") for key in params)
        assert all(v is None or isinstance(v, str | int | float | bool) for v in params.values())
        assert json.loads(json.dumps(params)) == params
        assert self.make_model().get_params() == params

    def test_save_load_round_trip(self, fitted: Recommender, some_residents: np.ndarray, tmp_path: Path) -> None:
        path = fitted.save(tmp_path / "model.pkl")
        loaded = type(fitted).load(path)
        pd.testing.assert_frame_equal(loaded.recommend(some_residents, k=K), fitted.recommend(some_residents, k=K))
        assert loaded.get_params() == fitted.get_params()

    # ----- quality --------------------------------------------------------------------------------------
    def test_beats_random_on_held_out_weeks(self, dataset: Dataset, fitted: Recommender,
                                            relevant: pd.DataFrame) -> None:
        ours, chance = model_ndcg(fitted, relevant), random_ndcg(dataset, relevant)
        assert ours >= self.min_ndcg_lift_over_random * chance, f"NDCG@10 {ours:.3f} vs random {chance:.3f}"

    def test_beats_global_popularity_on_held_out_weeks(self, dataset: Dataset, cutoff: pd.Timestamp,
                                                       fitted: Recommender, relevant: pd.DataFrame) -> None:
        if self.min_ndcg_lift_over_popular is None:
            pytest.skip("not a personalised model: no claim against global popularity")
        popular = model_ndcg(PopularRecommender().fit(dataset, cutoff), relevant)
        ours = model_ndcg(fitted, relevant)
        assert ours >= self.min_ndcg_lift_over_popular * popular, f"NDCG@10 {ours:.3f} vs popular {popular:.3f}"

    def test_completes_known_co_use_blocks(self, dataset: Dataset) -> None:
        if not self.learns_from_co_use:
            pytest.skip("the model does not learn from co-use")
        blocks, held_out = block_dataset(dataset)
        model = self.make_model().fit(blocks)
        top = model.recommend(held_out.index, k=1, exclude_seen=True)
        hit_rate = (top[C.SERVICE].to_numpy() == held_out.to_numpy()).mean()
        assert hit_rate >= 0.9, f"the held-out block service is first for only {hit_rate:.0%} of residents"
