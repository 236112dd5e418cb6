"""Validation communities for the hybrid's settings: variants are applied as asked and scored per seed."""

from __future__ import annotations

import pytest

from experiments.train_validation import run, variant_config
from recommenders.hybrid import HybridConfig


def test_variant_fields_reach_the_config_and_unknown_ones_are_refused() -> None:
    base = HybridConfig()
    changed = variant_config(base, {"ranker_bags": 1, "ranker": {"num_leaves": 7}})
    assert (changed.ranker_bags, changed.ranker.num_leaves) == (1, 7)
    assert changed.ranker.learning_rate == base.ranker.learning_rate  # other ranker fields kept
    with pytest.raises(ValueError, match="no_such_field"):
        variant_config(base, {"no_such_field": 1})


def test_each_variant_is_scored_on_each_validation_community(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run({"one ranker": {"ranker_bags": 1, "ranker": {"n_estimators": 30}}}, seeds=(5,), residents=1500)
    assert [r["variant"] for r in rows] == ["one ranker"] and list(rows[0]["per_seed"]) == [5]
    scores = rows[0]["per_seed"][5]
    assert 0.2 < scores["ndcg@10"] < 1 and 0 < scores["worst_over_best_persona"] <= 1
    assert '"variant": "one ranker"' in capsys.readouterr().out
