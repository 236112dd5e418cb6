"""The one event-weight table: its two named policies and how a feature set overrides them."""

from __future__ import annotations

import pytest

from features import FeatureSet, Vocab
from features.event_weights import EVENT_WEIGHTS, policy_weights


def test_policies_weigh_every_event_and_differ_only_on_impressions() -> None:
    features, interactions = policy_weights("features"), policy_weights("interactions")
    assert list(features) == list(interactions) == list(Vocab.EVENTS)
    assert {e for e in Vocab.EVENTS if features[e] != interactions[e]} == {"impression"}
    assert features["impression"] > 0 and interactions["impression"] == 0  # exposure vs actions only


def test_unknown_policy_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'ranker'.*\['features', 'interactions'\]"):
        policy_weights("ranker")  # type: ignore[arg-type]


def test_feature_set_overrides_one_event_and_leaves_the_table_alone() -> None:
    overridden = FeatureSet.from_dict({"event_strength": {"impression": 0.0}})
    assert overridden.event_strength == {**policy_weights("features"), "impression": 0.0}
    assert EVENT_WEIGHTS["features"]["impression"] == FeatureSet.default().event_strength["impression"] == 0.1
