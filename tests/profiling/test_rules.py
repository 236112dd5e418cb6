"""Persona rules: each persona's primary rule, its fallbacks for missing fields, and the reasons given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import Vocab
from profiling import PersonaRules, PersonaRulesConfig
from profiling.config import ElderlyRule, MigrantRule
from tests.profiling.frames import employment, feature_frame

NAN = np.nan


def _tag(frame: pd.DataFrame, config: PersonaRulesConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    tags = PersonaRules(config).tag(frame)
    return tags.tags, tags.reasons


def test_output_is_resident_by_persona_with_reasons_only_where_tagged() -> None:
    frame = feature_frame(A={"age": 71.0, "is_floating": 1.0}, B={})
    tags, reasons = _tag(frame)
    assert list(tags.columns) == list(Vocab.PERSONAS)
    assert list(tags.index) == ["A", "B"]
    assert tags.dtypes.eq(bool).all()
    assert (reasons.notna() == tags).all().all()


def test_elderly_by_age_states_the_value_and_threshold() -> None:
    tags, reasons = _tag(feature_frame(old={"age": 71.0}, young={"age": 59.0}))
    assert tags.loc["old", "elderly"] and not tags.loc["young", "elderly"]
    assert reasons.loc["old", "elderly"] == "age 71 ≥ 60"


def test_elderly_falls_back_to_retired_then_to_elderly_care_use() -> None:
    frame = feature_frame(
        retired={"age": NAN, **employment("retired")},
        care={"age": NAN, **employment(None), "share_elderly_care": 0.5, "share_convenience": 0.5},
        care_few_events={"age": NAN, **employment(None), "share_elderly_care": 0.5, "n_events": 2.0},
        employed_unknown_age={"age": NAN, "share_elderly_care": 0.5},
    )
    tags, reasons = _tag(frame)
    assert reasons.loc["retired", "elderly"] == "age unknown, retired"
    assert reasons.loc["care", "elderly"] == "age unknown, employment unknown, 50% of events in elderly care"
    assert not tags.loc["care_few_events", "elderly"]  # too few events to trust a share
    assert not tags.loc["employed_unknown_age", "elderly"]


def test_family_by_children_count_with_childcare_fallback_only_when_count_unknown() -> None:
    frame = feature_frame(
        two={"children_under_18": 2.0, "has_children": 1.0},
        one={"children_under_18": 1.0, "has_children": 1.0},
        unknown={"children_under_18": NAN, "has_children": NAN, "share_childcare": 0.4},
        known_none={"children_under_18": 0.0, "share_childcare": 0.9},
    )
    tags, reasons = _tag(frame)
    assert reasons.loc["two", "family_with_children"] == "2 children under 18"
    assert reasons.loc["one", "family_with_children"] == "1 child under 18"
    assert reasons.loc["unknown", "family_with_children"] == "children unknown, 40% of events in childcare"
    assert not tags.loc["known_none", "family_with_children"]


def test_commuter_needs_employment_and_commute_evidence_never_one_field() -> None:
    frame = feature_frame(
        employed_only={},
        peaks={"weekday_peak_share": 0.72},
        departs={"departure_hour": 7.0},
        other_district={"works_other_district": 1.0},
        shift_worker={"departure_hour": 13.0, "weekday_peak_share": 0.8},
        retired_departs={**employment("retired"), "departure_hour": 7.0, "works_other_district": 1.0},
        peaks_few_events={"weekday_peak_share": 1.0, "n_events": 3.0},
    )
    tags, reasons = _tag(frame)
    commuter = tags["commuter"]
    assert commuter[["peaks", "departs", "other_district"]].all()
    assert not commuter[["employed_only", "shift_worker", "retired_departs", "peaks_few_events"]].any()
    assert reasons.loc["peaks", "commuter"] == "employed, 72% of events at weekday peaks"
    assert reasons.loc["departs", "commuter"] == "employed, leaves home at 7:00"
    assert reasons.loc["other_district", "commuter"] == "employed, works in another district"


def test_commuter_without_employment_status_is_decided_by_recorded_commute_or_strong_behaviour() -> None:
    frame = feature_frame(
        unknown_departs={**employment(None), "departure_hour": 8.0},
        unemployed_other_district={**employment("unemployed"), "works_other_district": 1.0},
        unknown_strong_peaks={**employment(None), "weekday_peak_share": 0.9},
        unknown_moderate_peaks={**employment(None), "weekday_peak_share": 0.6},
        unknown_peaks_off_peak_departure={**employment(None), "weekday_peak_share": 0.9, "departure_hour": 14.0},
    )
    tags, reasons = _tag(frame)
    assert tags.loc[["unknown_departs", "unemployed_other_district", "unknown_strong_peaks"], "commuter"].all()
    assert not tags.loc[["unknown_moderate_peaks", "unknown_peaks_off_peak_departure"], "commuter"].any()
    assert reasons.loc["unemployed_other_district", "commuter"] == (
        "employment unemployed, works in another district")
    assert reasons.loc["unknown_strong_peaks", "commuter"] == (
        "employment unknown, 90% of events at weekday peaks")


def test_migrant_by_floating_residency_or_short_stay() -> None:
    frame = feature_frame(
        floating={"is_floating": 1.0, "months_resident": 200.0},
        newcomer={"is_floating": 0.0, "months_resident": 12.0},
        unknown_newcomer={"is_floating": NAN, "months_resident": 8.0},
        settled={"is_floating": 0.0, "months_resident": 120.0},
        unknown_settled={"is_floating": NAN, "months_resident": NAN},
    )
    tags, reasons = _tag(frame)
    assert reasons.loc["floating", "migrant"] == "floating residency"
    assert reasons.loc["newcomer", "migrant"] == "registered, 12 months resident ≤ 36"
    assert reasons.loc["unknown_newcomer", "migrant"] == "residency unknown, 8 months resident ≤ 36"
    assert not tags.loc[["settled", "unknown_settled"], "migrant"].any()


def test_thresholds_come_from_the_config() -> None:
    frame = feature_frame(r62={"age": 62.0}, newcomer={"is_floating": 0.0, "months_resident": 12.0})
    config = PersonaRulesConfig(elderly=ElderlyRule(min_age=65),
                                migrant=MigrantRule(short_stay_when_registered=False))
    tags, _ = _tag(frame, config)
    assert not tags.loc["r62", "elderly"] and not tags.loc["newcomer", "migrant"]
    assert _tag(frame)[0].loc["r62", "elderly"]


def test_accessibility_student_and_job_seeker() -> None:
    frame = feature_frame(
        need={"accessibility_need": 1.0},
        need_unknown={"accessibility_need": NAN, "share_accessibility": 0.5},
        student={**employment("student"), "age": 19.0},
        other_young_studying={**employment("other"), "age": 19.0, "share_youth_study": 0.6},
        other_adult_studying={**employment("other"), "age": 40.0, "share_youth_study": 0.6},
        unemployed={**employment("unemployed"), "age": 30.0},
        unemployed_old={**employment("unemployed"), "age": 63.0},
        other_job_hunting={**employment("other"), "share_employment": 0.6},
    )
    tags, reasons = _tag(frame)
    assert reasons.loc["need", "accessibility_needs"] == "accessibility need recorded"
    assert reasons.loc["need_unknown", "accessibility_needs"] == (
        "need unknown, 50% of events in accessibility services")
    assert reasons.loc["student", "student"] == "student"
    assert reasons.loc["other_young_studying", "student"] == (
        "employment other, age 19, 60% of events in youth and study services")
    assert not tags.loc["other_adult_studying", "student"]
    assert reasons.loc["unemployed", "job_seeker"] == "unemployed"
    assert not tags.loc["unemployed_old", "job_seeker"]
    assert reasons.loc["other_job_hunting", "job_seeker"] == (
        "employment other, 60% of events in employment services")


def test_multi_label_reasons_per_resident() -> None:
    frame = feature_frame(R1={"age": 71.0, **employment("retired"), "is_floating": 1.0,
                              "accessibility_need": 1.0})
    tags = PersonaRules().tag(frame)
    assert tags.reasons_for("R1") == ["elderly: age 71 ≥ 60", "migrant: floating residency",
                                      "accessibility_needs: accessibility need recorded"]
    assert tags.reason_lists()["R1"] == tags.reasons_for("R1")
    assert tags.counts()["elderly"] == 1 and tags.counts()["commuter"] == 0


def test_missing_columns_count_as_unknown() -> None:
    frame = pd.DataFrame({"age": [70.0, NAN, 30.0]}, index=pd.Index(["a", "b", "c"], name="resident_id"))
    tags, _ = _tag(frame)
    assert tags["elderly"].tolist() == [True, False, False]
    assert not tags.drop(columns="elderly").any().any()


@pytest.mark.parametrize("rows", [0, 1])
def test_empty_and_single_row_frames(rows: int) -> None:
    frame = feature_frame(R1={"age": 80.0}).iloc[:rows]
    tags, reasons = _tag(frame)
    assert tags.shape == (rows, len(Vocab.PERSONAS)) and reasons.shape == tags.shape
