"""Community typing: a persona share well above the overall share decides the type, with its numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import Columns, Vocab
from profiling import CommunityTypeConfig, type_communities


def _population(mix: dict[str, tuple[int, dict[str, int]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Residents per community: (size, {persona: how many of them carry it})."""
    ids, communities, rows = [], [], []
    for community, (size, personas) in mix.items():
        for i in range(size):
            ids.append(f"{community}-{i}")
            communities.append(community)
            rows.append({p: i < personas.get(p, 0) for p in Vocab.PERSONAS})
    tags = pd.DataFrame(rows, index=pd.Index(ids, name=Columns.RESIDENT))
    residents = pd.DataFrame({Columns.RESIDENT: ids, Columns.COMMUNITY: communities})
    return tags, residents


MIX = {
    "old": (100, {"elderly": 60, "commuter": 10, "migrant": 10, "family_with_children": 10}),
    "young": (100, {"family_with_children": 55, "elderly": 10, "commuter": 20, "migrant": 10}),
    "office": (100, {"commuter": 70, "elderly": 10, "migrant": 10, "family_with_children": 15}),
    "arrivals": (100, {"migrant": 60, "commuter": 25, "elderly": 5, "family_with_children": 10}),
    "blend": (100, {"elderly": 22, "family_with_children": 23, "commuter": 32, "migrant": 22}),
    "tiny": (5, {"elderly": 5}),
}


def test_types_follow_the_dominant_persona_relative_to_the_overall_share() -> None:
    tags, residents = _population(MIX)
    types = type_communities(tags, residents)
    assert types["community_type"].to_dict() == {
        "old": "ageing", "young": "young_family", "office": "commuter", "arrivals": "migrant_heavy",
        "blend": "mixed", "tiny": "mixed"}
    assert types.loc["old", "community_type_zh"] == "老龄型"
    assert types.loc["arrivals", "community_type_zh"] == "流动人口聚居"
    assert types.loc["blend", "community_type_zh"] == "混合型"


def test_the_shares_that_decided_are_returned() -> None:
    tags, residents = _population(MIX)
    types = type_communities(tags, residents)
    overall = tags["elderly"].mean()
    assert types.loc["old", "share_elderly"] == pytest.approx(0.6)
    assert types.loc["old", "lift_elderly"] == pytest.approx(0.6 / overall)
    assert types.loc["old", "reason"] == f"elderly 60% vs {overall:.0%} overall (×{0.6 / overall:.1f})"
    assert types.loc["tiny", "reason"].startswith("5 residents < 10")
    assert types.loc["old", "residents"] == 100


def test_thresholds_come_from_the_config() -> None:
    tags, residents = _population(MIX)
    strict = type_communities(tags, residents, config=CommunityTypeConfig(min_lift=3.0))
    assert (strict["community_type"] == "mixed").all()
    small_ok = type_communities(tags, residents, config=CommunityTypeConfig(min_residents=1))
    assert small_ok.loc["tiny", "community_type"] == "ageing"


def test_names_and_communities_without_residents_come_from_the_communities_table() -> None:
    tags, residents = _population(MIX)
    table = pd.DataFrame({Columns.COMMUNITY: [*MIX, "empty"],
                          Columns.COMMUNITY_NAME: [f"{c}社区" for c in [*MIX, "empty"]]})
    types = type_communities(tags, residents, table)
    assert types.loc["old", Columns.COMMUNITY_NAME] == "old社区"
    assert types.loc["empty", "residents"] == 0 and types.loc["empty", "community_type"] == "mixed"
    assert np.isnan(types.loc["empty", "share_elderly"])
