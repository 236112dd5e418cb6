"""The hybrid recommender: the shared contract plus what only the hybrid promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.base import RANK, Recommender
from recommenders.hybrid import HybridConfig, HybridRecommender
from recommenders.label_strategies import TimeWindowLabels, label_stages, shown_matrix
from recommenders.ranker import RankerConfig
from recommenders.testing import RecommenderContract, holdout_cutoff, model_ndcg, relevant_pairs

FAST = HybridConfig(ranker=RankerConfig(n_estimators=60), seed=3)


def test_time_window_keys_at_the_top_level_fill_the_label_strategy() -> None:
    legacy = HybridConfig.model_validate({"label_weeks": 2, "label_windows": 3, "ranker": {"num_leaves": 7}})
    assert legacy.labels == TimeWindowLabels(label_weeks=2, label_windows=3) and legacy.label_weeks == 2
    assert legacy.ranker == RankerConfig(num_leaves=7)  # only what differs is stated; the rest is RankerConfig's
    with pytest.raises(ValueError, match="label_weeks"):
        HybridConfig.model_validate({"label_weeks": 2, "labels": {"kind": "stratified_folds"}})
    with pytest.raises(ValueError, match="folds"):
        HybridConfig.model_validate({"labels": {"kind": "stratified_folds", "folds": 1}})


class TestHybrid(RecommenderContract):
    min_ndcg_lift_over_popular = 1.3

    def make_model(self) -> Recommender:
        return HybridRecommender(FAST)


@pytest.fixture(scope="module")
def hybrid(dataset: Dataset) -> HybridRecommender:
    return HybridRecommender(FAST).fit(dataset, holdout_cutoff(dataset))


def test_beats_its_best_single_generator(dataset: Dataset, hybrid: HybridRecommender) -> None:
    relevant = relevant_pairs(dataset, hybrid.cutoff_)
    best_single = max(model_ndcg(model, relevant) for model in hybrid.generators_.values())
    assert model_ndcg(hybrid, relevant) > best_single


def test_lists_obey_the_rules(dataset: Dataset, hybrid: HybridRecommender) -> None:
    residents = dataset.residents
    elderly_ids = residents.loc[(2026 - residents[C.BIRTH_YEAR].astype("Float64")).ge(70).fillna(False), C.RESIDENT]
    out = hybrid.recommend(elderly_ids.iloc[:100], k=10)
    services = dataset.services.set_index(C.SERVICE)
    max_age = services.loc[out[C.SERVICE], C.MAX_AGE].astype("Float64").fillna(200).to_numpy()
    assert (max_age >= 70).all(), "no service is recommended above its maximum age"
    categories = out.assign(cat=services.loc[out[C.SERVICE], C.CATEGORY].to_numpy()).groupby(C.RESIDENT)["cat"]
    assert categories.nunique().min() >= FAST.rules.min_categories, "every list spans min_categories categories"
    offline = residents.loc[residents[C.PREFERRED_CHANNEL] == "offline", C.RESIDENT].iloc[:100]
    lists = hybrid.recommend(offline, k=10)
    capable = services.loc[lists[C.SERVICE], C.CHANNEL].isin(["offline", "both"]).to_numpy()
    assert pd.Series(capable).groupby(lists[C.RESIDENT].to_numpy()).sum().min() >= FAST.rules.offline_quota


def test_cold_start_resident_is_served_from_the_profile(hybrid: HybridRecommender) -> None:
    newcomer = pd.DataFrame([{C.RESIDENT: "NEW-1", C.COMMUNITY: hybrid.pipeline_.community_index_[0],
                              C.BIRTH_YEAR: 1950, C.HOUSEHOLD_SIZE: 2, C.CHILDREN: 0, C.EMPLOYMENT: "retired",
                              C.RESIDENCY: "registered", C.PREFERRED_CHANNEL: "offline"},
                             {C.RESIDENT: "NEW-2", C.COMMUNITY: hybrid.pipeline_.community_index_[0],
                              C.BIRTH_YEAR: 1992, C.HOUSEHOLD_SIZE: 3, C.CHILDREN: 1, C.EMPLOYMENT: "employed",
                              C.RESIDENCY: "floating", C.PREFERRED_CHANNEL: "online"}])
    out = hybrid.recommend(["NEW-1", "NEW-2"], k=5, profile_rows=newcomer, explain=True)
    assert out.groupby(C.RESIDENT).size().to_dict() == {"NEW-1": 5, "NEW-2": 5}
    categories = hybrid.services_.set_index(C.SERVICE).loc[out[C.SERVICE], C.CATEGORY].to_numpy()
    elder, parent = categories[:5], categories[5:]
    assert "elderly_care" in elder and "elderly_care" not in parent
    assert {"childcare", "administration"} & set(parent)
    assert out["explanation_zh"].str.len().gt(0).all()


def test_explanations_name_reasons_in_both_languages(dataset: Dataset, hybrid: HybridRecommender) -> None:
    active = dataset.interactions[C.RESIDENT].value_counts().index[:3].astype(str)
    out = hybrid.recommend(list(active), k=5, explain=True)
    assert out["explanation"].str.contains("used it before|residents like you|similar habits|key factors").all()
    assert out["explanation_zh"].str.contains("曾使用|相似|主要依据").all()
    assert out[RANK].tolist() == [1, 2, 3, 4, 5] * 3


def test_refit_keeps_the_ranker_and_sees_newer_events(dataset: Dataset) -> None:
    model = HybridRecommender(FAST).fit(dataset, holdout_cutoff(dataset))
    ranker = model.ranker_
    model.refit(dataset)
    assert model.ranker_ is ranker
    assert model.cutoff_ > dataset.interactions[C.TIMESTAMP].max()
    assert model.history_.nnz > 0 and np.isfinite(model.recommend(dataset.resident_ids.external[:3], 3)["score"]).all()


def test_too_little_recent_history_is_a_clear_error(dataset: Dataset) -> None:
    from recommenders.errors import NotEnoughHistoryError

    early = dataset.interactions[C.TIMESTAMP].iloc[0]  # nothing before it
    with pytest.raises(NotEnoughHistoryError, match="no positive events between"):
        HybridRecommender(FAST).fit(dataset, early)


@pytest.mark.parametrize(("name", "english"), [
    ("als_gap", "residents with similar habits"), ("persona_popular_rank", "residents like you"),
    ("ease_score", "services you already use"), ("x.pair_days_since_last", "your past use"),
    ("svc.service_scope_share", "what the service offers"), ("x.scope_match", "how well the service fits you"),
    ("weekday_peak_share", "your profile"), ("x.category_affinity", "your interest in this category"),
    ("personal_frequency_rank", "services you already use"), ("x.repeat_dueness", "your past use")])
def test_every_ranker_feature_has_a_readable_label(name: str, english: str) -> None:
    from recommenders.explanations import feature_label

    en, zh = feature_label(name)
    assert en == english and zh and "_" not in zh


def test_a_profile_sent_for_a_known_resident_does_not_override_their_history(hybrid: HybridRecommender,
                                                                              dataset: Dataset) -> None:
    known = dataset.residents.iloc[[0]].copy()
    newcomer = known.assign(**{C.RESIDENT: "NEW-9"})
    profiles = pd.concat([known, newcomer], ignore_index=True)
    ids = [known[C.RESIDENT].iloc[0], "NEW-9"]
    with_profiles = hybrid.recommend(ids, k=5, profile_rows=profiles)
    alone = hybrid.recommend(ids[:1], k=5)
    pd.testing.assert_frame_equal(with_profiles[with_profiles[C.RESIDENT] == ids[0]].reset_index(drop=True), alone)
    assert (with_profiles[C.RESIDENT] == "NEW-9").sum() == 5


def test_services_shown_and_passed_over_are_ranker_negatives(dataset: Dataset, hybrid: HybridRecommender) -> None:
    import copy

    label_start = hybrid.cutoff_ - pd.Timedelta(weeks=FAST.label_weeks)
    times = dataset.interactions[C.TIMESTAMP]
    window = dataset.interactions[(times >= label_start) & (times < hybrid.cutoff_)]
    ids = np.asarray(pd.unique(window[C.RESIDENT].astype(str)))[:50]
    shown = shown_matrix(window, ids, hybrid.service_ids_.external)
    impressions = window[(window[C.EVENT] == "impression") & window[C.RESIDENT].isin(ids)]
    expected = set(zip(impressions[C.RESIDENT].astype(str), impressions[C.SERVICE].astype(str), strict=True))
    rows, cols = np.nonzero(shown)
    services = hybrid.service_ids_.external.to_numpy()
    assert {(ids[r], services[c]) for r, c in zip(rows, cols, strict=True)} == expected and expected
    blind = copy.copy(hybrid)
    blind.config = FAST.model_copy(update={"labels": FAST.labels.model_copy(update={"shown_negatives": False})})
    stage = next(label_stages(FAST.labels, dataset.until(hybrid.cutoff_), hybrid.cutoff_, FAST.seed))
    with_shown, relevance, _, _ = hybrid._training_rows(stage)
    without, relevance_blind, _, _ = blind._training_rows(stage)
    assert len(with_shown) > len(without)  # shown services the generators did not propose join the rows
    assert (relevance == 0).sum() > (relevance_blind == 0).sum()  # … mostly as negatives


def test_candidates_are_drawn_from_services_the_rules_allow(dataset: Dataset, hybrid: HybridRecommender) -> None:
    one_off = dataset.services.loc[dataset.services[C.ONE_OFF].fillna(False).astype(bool), C.SERVICE]
    known = dataset.until(hybrid.cutoff_).interactions
    used = known[known[C.EVENT].isin(["use", "rate"]) & known[C.SERVICE].isin(one_off)]
    ids = np.asarray(pd.unique(used[C.RESIDENT].astype(str)))[:200]
    internal = hybrid.resident_ids_.to_internal(ids)
    services = hybrid.service_ids_.external.to_numpy()
    pairs = pd.DataFrame({C.RESIDENT: np.repeat(ids, len(services)), C.SERVICE: np.tile(services, len(ids))})
    allowed = hybrid.rules_.allowed(hybrid.pipeline_.cross_features(pairs), (len(ids), len(services)))
    _, rows, cols, _ = hybrid._candidates(internal, ids)
    assert len(ids) and allowed[rows, cols].all(), "a service the rules forbid never becomes a candidate"
    held = set(zip(used[C.RESIDENT].astype(str), used[C.SERVICE].astype(str), strict=True))
    assert not held & {(ids[r], services[c]) for r, c in zip(rows, cols, strict=True)}
    per_resident = np.bincount(rows, minlength=len(ids))
    wanted = np.minimum(allowed.sum(axis=1), FAST.candidates_per_generator)
    assert (per_resident >= wanted).all(), "used permits do not take the slots of services the resident may get"


def test_label_windows_train_the_ranker_on_earlier_weeks_too(dataset: Dataset) -> None:
    cheap = FAST.model_copy(update={"generators": {"popular": {}, "personal_frequency": {}}, "ranker_bags": 1})
    cutoff = holdout_cutoff(dataset)
    one = HybridRecommender(cheap).fit(dataset, cutoff)
    two_windows = HybridConfig(**cheap.model_dump(exclude={"labels"}), labels=TimeWindowLabels(label_windows=2))
    two = HybridRecommender(two_windows).fit(dataset, cutoff)
    assert (one.label_windows_, two.label_windows_) == (1, 2)
    assert two.label_rows_ > 1.5 * one.label_rows_, f"two windows: {two.label_rows_} rows, one: {one.label_rows_}"
    span = (cutoff - dataset.interactions[C.TIMESTAMP].min()).days // 7
    many = HybridRecommender(cheap.model_copy(update={"labels": TimeWindowLabels(label_windows=6,
                                                                                  label_weeks=max(span // 3, 1))}))
    assert many.fit(dataset, cutoff).label_windows_ < 6, "windows without earlier history are skipped"
    relevant = relevant_pairs(dataset, cutoff)
    assert model_ndcg(two, relevant) > 0.9 * model_ndcg(one, relevant)
