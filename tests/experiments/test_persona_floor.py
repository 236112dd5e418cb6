"""The persona floor over communities: worst / best persona NDCG@10 and each persona over its true-preference
ceiling, with seeded bootstrap intervals over residents."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from experiments.persona_floor import PersonaScores, community_floor, summarise
from experiments.true_preference_ranking import TruePreferenceRanking
from features.dataset import Dataset
from features.sources.synthetic import SyntheticCommunity, generate_community
from recommenders.persona_popular import PersonaPopularRecommender
from training.evaluation import EvaluationWindow
from training.splits import time_split


def _scored(community: SyntheticCommunity, dataset: Dataset, *, ceiling_as_model: bool = False
            ) -> PersonaScores:
    split = time_split(dataset, test_weeks=4, validation_weeks=0)
    window = EvaluationWindow.build(dataset, split, 10, 7)
    ceiling = TruePreferenceRanking(community, split.test_start).recommend(window.residents, 10)
    model = (ceiling if ceiling_as_model else
             PersonaPopularRecommender().fit(dataset, split.train_until).recommend(window.residents, 10))
    return PersonaScores.from_lists(model, ceiling, window.truth, window.personas, 10)


@pytest.fixture(scope="module")
def tiny() -> tuple[SyntheticCommunity, Dataset]:
    community = generate_community(residents=800, seed=11)
    return community, community.dataset()


@pytest.fixture(scope="module")
def floors(community: SyntheticCommunity, dataset: Dataset, tiny: tuple[SyntheticCommunity, Dataset]
           ) -> list[dict[str, Any]]:
    return [community_floor(_scored(community, dataset), seed=7), community_floor(_scored(*tiny), seed=11)]


def test_summary_holds_the_keys_bench_train_prints(floors: list[dict[str, Any]]) -> None:
    summary = summarise(floors)
    assert summary["communities"] == 2 and len(summary["worst_over_best_per_community"]) == 2
    assert {"worst_over_best_mean", "worst_over_best_interval", "persona_over_ceiling_mean",
            "persona_over_ceiling_interval", "interval"} <= set(summary)
    personas = set(floors[0]["per_persona_ndcg@10"]) | set(floors[1]["per_persona_ndcg@10"])
    assert set(summary["persona_over_ceiling_mean"]) == personas and len(personas) >= 5
    assert "over test residents" in summary["interval"]


def test_ratios_are_in_range(floors: list[dict[str, Any]]) -> None:
    summary = summarise(floors)
    assert 0 < summary["worst_over_best_mean"] <= 1
    assert all(0 < c["worst_over_best"] <= 1 for c in floors)
    assert all(0 < v <= 1.5 for v in summary["persona_over_ceiling_mean"].values())
    assert summary["worst_over_best_mean"] == pytest.approx(np.mean([c["worst_over_best"] for c in floors]),
                                                            abs=1e-4)


def test_intervals_bracket_the_means(floors: list[dict[str, Any]]) -> None:
    summary = summarise(floors)
    low, high = summary["worst_over_best_interval"]
    assert low <= summary["worst_over_best_mean"] <= high and low < high
    for persona, mean in summary["persona_over_ceiling_mean"].items():
        low, high = summary["persona_over_ceiling_interval"][persona]
        assert low <= mean <= high, persona


def test_the_ceiling_over_itself_is_one(community: SyntheticCommunity, dataset: Dataset) -> None:
    floor = community_floor(_scored(community, dataset, ceiling_as_model=True), seed=7, replicates=200)
    assert floor["persona_over_ceiling"] and all(v == 1.0 for v in floor["persona_over_ceiling"].values())
    assert floor["per_persona_ndcg@10"] == floor["ceiling_per_persona_ndcg@10"]
    summary = summarise([floor])
    assert all(v == 1.0 for v in summary["persona_over_ceiling_mean"].values())
    assert all(interval == [1.0, 1.0] for interval in summary["persona_over_ceiling_interval"].values())


def test_bootstrap_is_seeded(community: SyntheticCommunity, dataset: Dataset) -> None:
    scores = _scored(community, dataset)
    first = community_floor(scores, seed=3, replicates=150)["replicates"]["worst_over_best"]
    assert community_floor(scores, seed=3, replicates=150)["replicates"]["worst_over_best"] == first
    assert community_floor(scores, seed=4, replicates=150)["replicates"]["worst_over_best"] != first
    assert len(first) == 150


def test_a_persona_without_residents_is_left_out() -> None:
    scores = PersonaScores(model=np.array([0.2, 0.4, 0.6]), ceiling=np.array([0.4, 0.8, 0.6]),
                           members=np.array([[True, False], [True, False], [False, False]]),
                           personas=["elderly", "student"])
    floor = community_floor(scores, seed=1, replicates=50)
    assert floor["persona_over_ceiling"] == {"elderly": 0.5}
    assert floor["worst_over_best"] == 1.0


def test_no_community_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one community"):
        summarise([])


def test_from_lists_scores_a_resident_without_a_list_as_zero() -> None:
    truth = pd.DataFrame({"resident_id": ["a", "b"], "service_id": ["s1", "s2"], "relevance": [1.0, 1.0]})
    lists = pd.DataFrame({"resident_id": ["a"], "service_id": ["s1"], "rank": [1]})
    personas = pd.DataFrame({"elderly": [True, True]}, index=pd.Index(["a", "b"], name="resident_id"))
    scores = PersonaScores.from_lists(lists, lists, truth, personas)
    assert sorted(scores.model.tolist()) == [0.0, 1.0] and scores.members.all()


@pytest.mark.parametrize("seeds", ["1,x", "", "1,1"])
def test_bench_train_rejects_bad_seeds(seeds: str) -> None:
    done = subprocess.run([sys.executable, "-m", "linli", "bench", "train", "--sizes", "300", "--seeds", seeds],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--seeds" in done.stderr
