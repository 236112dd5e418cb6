"""profile_dataset on the session's synthetic community: recovery of the known truth, summary, reports."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from features import Columns, Dataset, Vocab
from features.sources.synthetic import SyntheticCommunity
from profiling import (
    COMMUNITY_TYPES,
    ProfilingConfig,
    ReportConfig,
    ResidentProfile,
    default_cutoff,
    profile_dataset,
    summary,
)


@pytest.fixture(scope="module")
def profile(dataset: Dataset) -> ResidentProfile:
    return profile_dataset(dataset, seed=0)


def test_summary_is_exactly_the_promised_json(profile: ResidentProfile, community: SyntheticCommunity) -> None:
    report = summary(profile, community.truth)
    assert set(report) == {"residents", "personas", "segments", "segment_descriptions", "community_types",
                           "recovery"}
    assert report["residents"] == len(community.frames["residents"])
    assert list(report["personas"]) == list(Vocab.PERSONAS)
    assert report["segments"] == len(report["segment_descriptions"]) >= 2
    assert set(report["community_types"]) == set(COMMUNITY_TYPES)
    assert sum(report["community_types"].values()) == len(community.frames["communities"])
    assert set(report["recovery"]) == {"macro_f1", "per_persona_f1", "segment_ari"}
    json.dumps(report, ensure_ascii=False)  # JSON-ready as it is
    assert "recovery" not in summary(profile)


def test_rule_personas_recover_the_latent_types(profile: ResidentProfile, community: SyntheticCommunity) -> None:
    recovery = summary(profile, community.truth)["recovery"]
    assert recovery["macro_f1"] >= 0.95
    for persona in ("elderly", "family_with_children", "commuter", "migrant"):
        assert recovery["per_persona_f1"][persona] >= 0.9, persona
    assert recovery["segment_ari"] is not None
    assert 0.1 < recovery["segment_ari"] <= 1.0


def test_community_types_match_the_generated_community_kinds(profile: ResidentProfile, dataset: Dataset) -> None:
    declared = dataset.communities.set_index(Columns.COMMUNITY)[Columns.COMMUNITY_KIND].astype(object)
    typed = profile.community_types["community_type"]
    assert (typed == declared.reindex(typed.index)).mean() >= 0.8


def test_every_resident_has_tags_reasons_and_a_segment(profile: ResidentProfile, dataset: Dataset) -> None:
    ids = dataset.residents[Columns.RESIDENT].astype(object)
    assert list(profile.personas.tags.index) == list(ids)
    assert profile.segments.index.equals(profile.personas.tags.index)
    assert profile.segments.between(0, profile.segment_model.n_segments_ - 1).all()
    some = profile.personas.tags.any(axis=1).idxmax()
    assert profile.personas.reasons_for(some)


def test_reports_name_places_in_chinese_and_suppress_small_cells(profile: ResidentProfile) -> None:
    report = profile.reports
    assert report.k == 10
    assert report.district[Columns.DISTRICT_NAME].str.endswith("区").all()
    community = report.community
    visible = community["residents"].dropna()
    assert visible.astype(int).ge(10).all()
    for column in [c for c in community.columns if c.startswith(("persona_", "segment_"))]:
        shown = community[column].dropna()
        assert shown.astype(int).ge(10).all(), column


def test_same_seed_same_segments_and_config_is_used(dataset: Dataset, profile: ResidentProfile) -> None:
    again = profile_dataset(dataset, seed=0, config=ProfilingConfig(reports=ReportConfig(k=5)))
    pd.testing.assert_series_equal(again.segments, profile.segments)
    assert again.reports.k == 5


def test_cutoff_defaults_to_the_day_after_the_last_interaction(dataset: Dataset,
                                                              profile: ResidentProfile) -> None:
    last = dataset.interactions[Columns.TIMESTAMP].max()
    assert profile.cutoff == default_cutoff(dataset) == last.normalize() + pd.Timedelta(days=1)
    early = profile_dataset(dataset, cutoff="2026-06-01", seed=0)
    assert early.features["n_events"].sum() < profile.features["n_events"].sum()
    assert early.cutoff == pd.Timestamp("2026-06-01")
