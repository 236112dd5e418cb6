"""Validation communities for the hybrid's settings: variants are applied as asked and scored per seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.train_validation import persona_ratio_interval, run, variant_config
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
    low, high = scores["worst_over_best_persona_95"]
    assert 0 < low < high <= 1, "the ratio moves with the residents drawn"
    assert '"variant": "one ranker"' in capsys.readouterr().out


def test_persona_ratio_interval_narrows_with_more_residents() -> None:
    rng = np.random.default_rng(1)

    def interval(n: int) -> tuple[float, float]:
        ids = pd.Index([f"R{i}" for i in range(2 * n)], name="resident_id")
        ndcg = pd.Series(np.r_[rng.uniform(0.3, 0.7, n), rng.uniform(0.5, 0.9, n)], index=ids)
        personas = pd.DataFrame({"a": np.arange(2 * n) < n, "b": np.arange(2 * n) >= n}, index=ids)
        return persona_ratio_interval(ndcg, personas, draws=300)

    small, large = interval(50), interval(5000)
    assert small[0] < 0.5 / 0.7 < small[1] and large[0] < 0.5 / 0.7 < large[1], "covers the true ratio"
    assert large[1] - large[0] < (small[1] - small[0]) / 5
