"""FeaturePipeline on a hand-made dataset whose right answers are known, plus the synthetic community."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features import Columns as C
from features import Dataset, UnknownIdError, Vocab
from features.feature_registry import REGISTRY, FeatureSet, UnknownFeatureError
from features.pipeline import FeaturePipeline, FeaturesNotFittedError
from features.sources.synthetic import SyntheticCommunity

CUTOFF = pd.Timestamp("2026-10-01")  # a Thursday
DAY = pd.Timedelta(days=1)


def _residents() -> pd.DataFrame:
    return pd.DataFrame({
        C.RESIDENT: ["r1", "r2", "r3"],
        C.COMMUNITY: ["c1", "c1", "c2"],
        C.BIRTH_YEAR: [1950, 1990, None],
        C.HOUSEHOLD_SIZE: [2, 4, None],
        C.CHILDREN: [0, 2, None],
        C.EMPLOYMENT: ["retired", "employed", None],
        C.RESIDENCY: ["registered", "floating", None],
        C.MONTHS_RESIDENT: [120, 12, None],
        C.ACCESSIBILITY: ["mobility", "none", None],
        C.PREFERRED_CHANNEL: ["offline", "online", "both"],
        C.WORK_DISTRICT: [None, "d2", "d2"],
        C.DEPARTURE_HOUR: [None, 7, 20],
    })


def _frames() -> dict[str, pd.DataFrame]:
    communities = pd.DataFrame({C.COMMUNITY: ["c1", "c2"], C.COMMUNITY_NAME: ["一社区", "二社区"],
                                C.STREET: ["s1", "s2"], C.DISTRICT: ["d1", "d2"]})
    services = pd.DataFrame({
        C.SERVICE: ["elder", "child", "job"],
        C.CATEGORY: ["elderly_care", "childcare", "employment"],
        C.NAME_ZH: ["助老", "托育", "就业"],
        C.CHANNEL: ["offline", "online", "both"],
        C.MIN_AGE: [60, None, None],
        C.MAX_AGE: [None, None, 60],
        C.REQUIRES_CHILDREN: [False, True, False],
        C.RESIDENCY_REQUIRED: ["any", "any", "registered"],
        C.ACCESSIBLE: [True, None, False],
        C.COMMUNITY_SCOPE: ["c1", None, None],
    })
    events = [  # resident, service, time, event, rating, channel
        ("r1", "elder", "2026-09-07 10:00", "use", None, "offline"),       # Monday, daytime
        ("r1", "elder", "2026-09-12 15:00", "rate", 4.0, "offline"),       # Saturday, daytime
        ("r1", "job", "2026-09-20 09:00", "impression", None, "online"),   # Sunday
        ("r2", "child", "2026-09-28 07:30", "click", None, "online"),      # Monday morning peak
        ("r2", "child", "2026-09-28 19:00", "book", None, "online"),       # Monday evening peak
        ("r2", "job", "2026-09-30 18:00", "view", None, "online"),         # Wednesday evening peak
        ("r1", "child", "2026-10-01 00:00", "use", None, "online"),        # at the cut-off: ignored
    ]
    interactions = pd.DataFrame(events, columns=[C.RESIDENT, C.SERVICE, C.TIMESTAMP, C.EVENT, C.RATING, C.CHANNEL])
    return {"residents": _residents(), "communities": communities, "services": services,
            "interactions": interactions}


def _dataset() -> Dataset:
    return Dataset.from_frames(**_frames())


@pytest.fixture(scope="module")
def pipeline() -> FeaturePipeline:
    return FeaturePipeline().fit(_dataset(), CUTOFF)


def test_static_resident_features(pipeline: FeaturePipeline) -> None:
    f = pipeline.resident_features(["r3", "r1", "r2"])
    assert list(f.index) == ["r3", "r1", "r2"] and f.index.name == C.RESIDENT
    assert (f.dtypes == np.float64).all()
    r1, r2, r3 = f.loc["r1"], f.loc["r2"], f.loc["r3"]
    assert (r1["age"], r2["age"]) == (76, 36) and np.isnan(r3["age"])
    assert (r1["age_known"], r3["age_known"]) == (1, 0)
    assert (r1["has_children"], r2["has_children"]) == (0, 1) and np.isnan(r3["has_children"])
    assert r1["employment_retired"] == 1 and r1[["employment_employed", "employment_student"]].sum() == 0
    assert r3[[f"employment_{e}" for e in Vocab.EMPLOYMENT]].sum() == 0 and r3["employment_known"] == 0
    assert (r1["is_floating"], r2["is_floating"]) == (0, 1) and np.isnan(r3["is_floating"])
    assert (r1["accessibility_need"], r2["accessibility_need"]) == (1, 0) and np.isnan(r3["accessibility_need"])
    assert (r1["prefers_offline"], r1["prefers_online"]) == (1, 0)
    assert (r3["prefers_offline"], r3["prefers_online"]) == (0, 0)  # "both"
    assert np.isnan(r1["works_other_district"]) and r2["works_other_district"] == 1
    assert r3["works_other_district"] == 0  # lives in c2 (district d2) and works in d2
    assert (r2["departure_peak"], r3["departure_peak"]) == (1, 0) and np.isnan(r1["departure_peak"])


def test_behaviour_resident_features(pipeline: FeaturePipeline) -> None:
    f = pipeline.resident_features(["r1", "r2", "r3"])
    r1, r2, r3 = f.loc["r1"], f.loc["r2"], f.loc["r3"]
    assert (r1["n_events"], r2["n_events"], r3["n_events"]) == (3, 3, 0)  # r1's cut-off event excluded
    assert (r1["n_active_days"], r2["n_active_days"]) == (3, 2)
    assert r1["days_since_last_event"] == pytest.approx(10.625)  # 2026-09-20 09:00 → cut-off
    assert np.isnan(r3["days_since_last_event"])
    history_months = (CUTOFF - pd.Timestamp("2026-09-07 10:00")) / DAY / 30.4375
    assert r1["events_per_month"] == pytest.approx(3 / history_months)
    assert r1["share_elderly_care"] == pytest.approx(6 / 6.1)  # use 3 + rate 3 vs impression 0.1
    assert r1["share_employment"] == pytest.approx(0.1 / 6.1)
    assert r2["share_childcare"] == pytest.approx(3 / 3.5) and r2["share_employment"] == pytest.approx(0.5 / 3.5)
    shares = [f"share_{c}" for c in Vocab.SERVICE_CATEGORIES]
    assert f.loc[["r1", "r2"], shares].sum(axis=1).to_numpy() == pytest.approx([1, 1])
    assert f.loc["r3", shares].sum() == 0
    # time-of-day profile over active (non-impression) events only
    assert (r1["daytime_share"], r1["weekend_share"], r1["weekday_peak_share"]) == (1, 0.5, 0)
    assert (r2["weekday_peak_share"], r2["weekend_share"], r2["daytime_share"]) == (1, 0, 0)
    assert r2["evening_share"] == pytest.approx(2 / 3)
    assert (r1["offline_event_share"], r2["offline_event_share"]) == (1, 0)
    assert (r1["mean_rating_given"], r1["n_ratings"]) == (4, 1) and np.isnan(r2["mean_rating_given"])


def test_service_features(pipeline: FeaturePipeline) -> None:
    f = pipeline.service_features()
    assert list(f.index) == ["elder", "child", "job"]
    assert f.loc["elder", "service_n_events"] == 2 and f.loc["elder", "service_mean_rating"] == 4
    assert f.loc["job", "service_reach"] == pytest.approx(1 / 3)  # r2's view; r1's impression does not count
    assert f.loc["child", "service_popularity"] == pytest.approx(3 / 3)  # click 1 + book 2, per resident
    assert f.loc["elder", "service_category_elderly_care"] == 1 and f.loc["job", "service_channel_both"] == 1
    assert f.loc["job", "service_residency_registered"] == 1 and f.loc["elder", "service_residency_any"] == 1
    assert (f.loc["elder", "service_scope_share"], f.loc["child", "service_scope_share"]) == (0.5, 1)
    assert list(pipeline.service_features(["job"]).index) == ["job"]


def test_cross_features(pipeline: FeaturePipeline) -> None:
    pairs = pd.DataFrame({C.RESIDENT: ["r1", "r1", "r1", "r2", "r2", "r3", "r3", "r3"],
                          C.SERVICE: ["elder", "job", "child", "elder", "job", "elder", "child", "job"]},
                         index=range(10, 18))
    x = pipeline.cross_features(pairs)
    assert list(x.index) == list(pairs.index) and list(x.columns) == pipeline.feature_names("cross")
    x.index = pairs[C.RESIDENT] + "/" + pairs[C.SERVICE]
    r1_elder = x.loc["r1/elder"]
    assert r1_elder["category_affinity"] == pytest.approx(6 / 6.1)
    assert (r1_elder["pair_n_events"], r1_elder["pair_strongest_event"]) == (2, 6)  # use + rate
    assert r1_elder["pair_days_since_last"] == pytest.approx(18.375)
    assert r1_elder[["age_match", "accessibility_match", "channel_match", "scope_match"]].tolist() == [1] * 4
    assert r1_elder["community_popularity"] == 0.5  # r1 of c1's two residents used it
    r1_job, r1_child = x.loc["r1/job"], x.loc["r1/child"]
    assert (r1_job["age_match"], r1_job["accessibility_match"], r1_job["pair_strongest_event"]) == (0, 0, 1)
    assert (r1_job["residency_match"], r1_job["channel_match"]) == (1, 1)
    assert (r1_child["children_match"], r1_child["channel_match"], r1_child["pair_n_events"]) == (0, 0, 0)
    assert np.isnan(r1_child["pair_days_since_last"]) and np.isnan(r1_child["accessibility_match"])
    assert (x.loc["r2/elder", "age_match"], x.loc["r2/job", "residency_match"]) == (0, 0)
    r3_elder = x.loc["r3/elder"]
    assert np.isnan(r3_elder["age_match"]) and r3_elder["scope_match"] == 0
    assert r3_elder["community_popularity"] == 0
    assert np.isnan(x.loc["r3/child", "children_match"]) and np.isnan(x.loc["r3/job", "residency_match"])


def test_history_window_drops_older_events() -> None:
    pipeline = FeaturePipeline(history_days=5).fit(_dataset(), CUTOFF)
    f = pipeline.resident_features(["r1", "r2"])
    assert f["n_events"].tolist() == [0, 3]  # r1's last event is 10.6 days old
    assert f.loc["r2", "events_per_month"] == pytest.approx(3 / (5 / 30.4375))
    assert pipeline.service_features().loc["elder", "service_n_events"] == 0


def test_unknown_ids_raise(pipeline: FeaturePipeline) -> None:
    with pytest.raises(UnknownIdError, match="nobody"):
        pipeline.resident_features(["r1", "nobody"])
    with pytest.raises(UnknownIdError, match="nothing"):
        pipeline.service_features(["nothing"])
    with pytest.raises(UnknownIdError, match="nobody"):
        pipeline.cross_features(pd.DataFrame({C.RESIDENT: ["nobody"], C.SERVICE: ["job"]}))


def test_unfitted_pipeline_says_to_fit() -> None:
    with pytest.raises(FeaturesNotFittedError, match=r"fit\(dataset, cutoff\)"):
        FeaturePipeline().resident_features(["r1"])


def test_cold_start_profile_matches_fitted_static_features(pipeline: FeaturePipeline) -> None:
    fitted = pipeline.resident_features(["r1", "r2", "r3"])
    cold = pipeline.transform_resident_profile(_residents())
    static = [c for c in fitted.columns if REGISTRY.resolve("resident", [c])[0][0].static]
    assert len(static) == 19
    pd.testing.assert_frame_equal(cold[static], fitted[static])
    pd.testing.assert_frame_equal(cold.loc[["r3"]], fitted.loc[["r3"]])  # r3 has no events: all equal
    assert (cold["n_events"] == 0).all() and cold["days_since_last_event"].isna().all()


def test_cold_start_resident_gets_cross_features(pipeline: FeaturePipeline) -> None:
    newcomer = _residents().iloc[[1]].assign(**{C.RESIDENT: "new", C.COMMUNITY: "c9"})
    profile = pipeline.transform_resident_profile(newcomer)
    assert profile.loc["new", "age"] == 36 and np.isnan(profile.loc["new", "works_other_district"])
    pairs = pd.DataFrame({C.RESIDENT: ["new", "r2"], C.SERVICE: ["job", "job"]})
    x = pipeline.cross_features(pairs, profile_rows=newcomer)
    assert x["residency_match"].tolist() == [0, 0]  # floating resident, registered-only service
    assert x["pair_n_events"].tolist() == [0, 1] and np.isnan(x.loc[0, "community_popularity"])


def test_feature_set_from_toml_selects_columns(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text('[event_strength]\nimpression = 0.0\n\n'
                    '[resident]\nfeatures = ["share_elderly_care", "n_events"]\n\n'
                    '[service]\nfeatures = ["service_reach"]\n\n'
                    '[cross]\nfeatures = ["age_match"]\n', encoding="utf-8")
    pipeline = FeaturePipeline(path).fit(_dataset(), CUTOFF)
    resident = pipeline.resident_features(["r1"])
    assert list(resident.columns) == ["share_elderly_care", "n_events"]  # "age" dropped, yet age_match works
    assert resident.loc["r1", "share_elderly_care"] == 1  # impressions weigh nothing in this set
    assert list(pipeline.service_features().columns) == ["service_reach"]
    x = pipeline.cross_features(pd.DataFrame({C.RESIDENT: ["r1"], C.SERVICE: ["job"]}))
    assert list(x.columns) == ["age_match"] and x.loc[0, "age_match"] == 0


def test_unknown_feature_name_lists_valid_names(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('[resident]\nfeatures = ["age", "agee"]\n', encoding="utf-8")
    with pytest.raises(UnknownFeatureError, match=r"'agee'.*Valid resident features: .*age, age_known"):
        FeatureSet.from_toml(path)
    with pytest.raises(UnknownFeatureError, match="service_reach"):
        FeatureSet(cross=("service_reach",))  # a service feature is not a cross feature


def test_default_feature_set_has_the_agreed_resident_columns() -> None:
    columns = FeatureSet.default().columns("resident")
    assert columns[:5] == ["age", "age_known", "household_size", "children_under_18", "has_children"]
    assert {f"share_{c}" for c in Vocab.SERVICE_CATEGORIES} <= set(columns)
    assert FeatureSet.default().event_strength == {"impression": 0.1, "view": 0.5, "click": 1.0, "book": 2.0,
                                                   "use": 3.0, "rate": 3.0}


def test_synthetic_commuters_have_peak_profile(dataset: Dataset, community: SyntheticCommunity) -> None:
    pipeline = FeaturePipeline().fit(dataset, "2026-10-01")
    features = pipeline.resident_features(dataset.residents[C.RESIDENT])
    primary = community.truth.set_index(C.RESIDENT)["primary_type"].reindex(features.index)
    commuters, others = features[primary == "commuter"], features[primary == "other"]
    assert commuters["weekday_peak_share"].mean() > others["weekday_peak_share"].mean() + 0.2
    assert commuters["daytime_share"].mean() < others["daytime_share"].mean()
    assert features["n_events"].sum() == len(dataset.until("2026-10-01").interactions)
    pairs = dataset.interactions[[C.RESIDENT, C.SERVICE]].drop_duplicates().head(5000)
    assert (pipeline.cross_features(pairs)["pair_n_events"] >= 0).all()
