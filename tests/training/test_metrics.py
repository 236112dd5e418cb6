"""Ranking, coverage, novelty, per-persona and cold-start metrics against hand-computed and reference values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score

from features import Columns as C
from features import IdMap
from recommenders.base import top_k_frame
from training import (
    MetricInputError,
    catalogue_coverage,
    category_diversity,
    cold_start_ndcg,
    evaluate,
    map_at_k,
    mean_average_precision,
    ndcg_at_k,
    novelty,
    per_group_ndcg,
    per_resident_metrics,
    precision_at_k,
    recall_at_k,
)
from training.metrics import Residents

LOG2_3 = math.log2(3)


def recs(lists: dict[str, list[str]]) -> pd.DataFrame:
    """A recommendation table from ordered lists (rank 1 first)."""
    rows = [(r, s, float(-i), i + 1) for r, services in lists.items() for i, s in enumerate(services)]
    return pd.DataFrame(rows, columns=[C.RESIDENT, C.SERVICE, "score", "rank"])


def truth(pairs: dict[str, dict[str, float] | list[str]]) -> pd.DataFrame:
    """A relevance frame; a list means relevance 1 for each service."""
    rows = [(r, s, rel) for r, items in pairs.items()
            for s, rel in (items.items() if isinstance(items, dict) else ((s, 1.0) for s in items))]
    return pd.DataFrame(rows, columns=[C.RESIDENT, C.SERVICE, "relevance"])


# ----- hand-computed values -----------------------------------------------------------------------------
def test_perfect_ranking_scores_one() -> None:
    r, t = recs({"a": ["s1", "s2", "x"], "b": ["s3", "y", "z"]}), truth({"a": ["s1", "s2"], "b": ["s3"]})
    assert ndcg_at_k(r, t, 3) == pytest.approx(1.0)
    assert map_at_k(r, t, 3) == pytest.approx(1.0)
    assert recall_at_k(r, t, 3) == pytest.approx(1.0)
    assert precision_at_k(r, t, 3) == pytest.approx((2 / 3 + 1 / 3) / 2)


def test_relevant_services_at_the_bottom_score_by_hand() -> None:
    r, t = recs({"a": ["n1", "n2", "s1", "s2"]}), truth({"a": ["s1", "s2"]})
    dcg, ideal = 1 / math.log2(4) + 1 / math.log2(5), 1 + 1 / LOG2_3
    assert ndcg_at_k(r, t, 4) == pytest.approx(dcg / ideal)
    assert map_at_k(r, t, 4) == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert precision_at_k(r, t, 4) == pytest.approx(0.5)
    assert recall_at_k(r, t, 4) == pytest.approx(1.0)
    # only the first k rows count: at k=3 one of the two hits remains
    assert ndcg_at_k(r, t, 3) == pytest.approx((1 / math.log2(4)) / (1 + 1 / LOG2_3))
    assert recall_at_k(r, t, 3) == pytest.approx(0.5)


def test_reversed_ranking_scores_below_the_right_one() -> None:
    t = truth({"a": {"s1": 3.0, "s2": 2.0, "s3": 1.0}})
    right, reversed_ = recs({"a": ["s1", "s2", "s3"]}), recs({"a": ["s3", "s2", "s1"]})
    assert ndcg_at_k(right, t, 3, graded=True) == pytest.approx(1.0)
    ideal = 3 + 2 / LOG2_3 + 1 / 2
    assert ndcg_at_k(reversed_, t, 3, graded=True) == pytest.approx((1 + 2 / LOG2_3 + 3 / 2) / ideal)
    assert ndcg_at_k(reversed_, t, 3) == pytest.approx(1.0)  # binary: order among hits does not matter


def test_graded_and_binary_relevance_differ_by_hand() -> None:
    r, t = recs({"a": ["s2", "s1"]}), truth({"a": {"s1": 3.0, "s2": 1.0}})
    assert ndcg_at_k(r, t, 2) == pytest.approx(1.0)
    assert ndcg_at_k(r, t, 2, graded=True) == pytest.approx((1 + 3 / LOG2_3) / (3 + 1 / LOG2_3))


def test_residents_without_a_list_score_zero_or_are_skipped() -> None:
    r = recs({"a": ["s1"], "nobody_in_truth": ["s1"]})
    t = truth({"a": ["s1"], "b": ["s2"]})
    assert ndcg_at_k(r, t, 1) == pytest.approx(0.5)  # b has no list: counts as 0
    assert precision_at_k(r, t, 1) == pytest.approx(0.5)
    assert ndcg_at_k(r, t, 1, residents="common") == pytest.approx(1.0)  # Recommenders' convention
    scores = per_resident_metrics(r, t, 1)
    assert sorted(scores.index) == ["a", "b"]  # residents without truth are not evaluated


def test_truth_rows_without_relevance_are_not_relevant() -> None:
    t = truth({"a": {"s1": 0.0, "s2": 2.0}})
    assert precision_at_k(recs({"a": ["s1", "s2"]}), t, 2) == pytest.approx(0.5)
    assert recall_at_k(recs({"a": ["s1"]}), t, 1) == 0.0


def test_equal_ranks_keep_input_order() -> None:
    t = truth({"a": ["s1"]})
    first = pd.DataFrame({C.RESIDENT: ["a", "a"], C.SERVICE: ["s1", "x"], "rank": [1, 1]})
    assert ndcg_at_k(first, t, 1) == 1.0
    assert ndcg_at_k(first.iloc[::-1], t, 1) == 0.0


def test_rank_column_not_row_order_decides() -> None:
    shuffled = pd.DataFrame({C.RESIDENT: ["a", "b", "a"], C.SERVICE: ["s1", "s9", "x"], "rank": [2, 1, 1]})
    assert ndcg_at_k(shuffled, truth({"a": ["s1"]}), 1) == 0.0
    assert ndcg_at_k(shuffled, truth({"a": ["s1"]}), 2) == pytest.approx(1 / LOG2_3)


def test_k_larger_than_the_list() -> None:
    r, t = recs({"a": ["s1", "s2"]}), truth({"a": ["s1", "s2"]})
    assert ndcg_at_k(r, t, 10) == pytest.approx(1.0)
    assert map_at_k(r, t, 10) == pytest.approx(1.0)
    assert precision_at_k(r, t, 10) == pytest.approx(0.2)  # hits / k, as Recommenders and Spark


def test_map_at_k_and_recommenders_map_differ_when_more_relevant_than_k() -> None:
    r, t = recs({"a": ["s1", "s2"]}), truth({"a": ["s1", "s2", "s3", "s4"]})
    assert map_at_k(r, t, 2) == pytest.approx(1.0)  # normalised by min(n_relevant, k) = 2
    assert mean_average_precision(r, t, 2) == pytest.approx(0.5)  # normalised by n_relevant = 4
    assert recall_at_k(r, t, 2) == pytest.approx(0.5)


def test_duplicate_truth_rows_keep_the_highest_relevance() -> None:
    t = pd.concat([truth({"a": {"s1": 1.0}}), truth({"a": {"s1": 3.0, "s2": 2.0}})])
    r = recs({"a": ["s2", "s1"]})
    assert ndcg_at_k(r, t, 2, graded=True) == pytest.approx((2 + 3 / LOG2_3) / (3 + 2 / LOG2_3))
    assert per_resident_metrics(r, t, 2)["n_relevant"].tolist() == [2]


def test_bad_inputs_raise_clear_errors() -> None:
    t = truth({"a": ["s1"]})
    with pytest.raises(MetricInputError, match="twice in one list"):
        ndcg_at_k(recs({"a": ["s1", "s1"]}), t, 2)
    with pytest.raises(MetricInputError, match=r"lack column\(s\) \['rank'\]"):
        ndcg_at_k(recs({"a": ["s1"]}).drop(columns="rank"), t, 1)
    with pytest.raises(MetricInputError, match="no relevant"):
        ndcg_at_k(recs({"a": ["s1"]}), truth({"a": {"s1": 0.0}}), 1)
    with pytest.raises(MetricInputError, match="k must be"):
        ndcg_at_k(recs({"a": ["s1"]}), t, 0)
    with pytest.raises(MetricInputError, match="no resident is both"):
        ndcg_at_k(recs({"z": ["s1"]}), t, 1, residents="common")


# ----- reference implementations ------------------------------------------------------------------------
def _random_case(seed: int, n_residents: int = 60, n_services: int = 25) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    relevance = rng.integers(0, 4, (n_residents, n_services)).astype(float) * (rng.random((n_residents, n_services))
                                                                                < 0.3)
    relevance[np.arange(n_residents), rng.integers(0, n_services, n_residents)] += 1.0  # ≥ 1 relevant each
    return relevance, rng.random((n_residents, n_services))


@pytest.mark.parametrize("k", [1, 5, 10, 25])
@pytest.mark.parametrize("graded", [False, True])
def test_ndcg_matches_sklearn(k: int, graded: bool) -> None:
    relevance, scores = _random_case(seed=k)
    residents = np.array([f"r{i}" for i in range(len(relevance))], dtype=object)
    services = IdMap.from_values("service", [f"s{j}" for j in range(relevance.shape[1])])
    table = top_k_frame(residents, scores, services, k)
    rows, cols = np.nonzero(relevance)
    t = pd.DataFrame({C.RESIDENT: residents[rows], C.SERVICE: services.to_external(cols),
                      "relevance": relevance[rows, cols]})
    expected = ndcg_score(relevance if graded else (relevance > 0).astype(float), scores, k=k)
    assert ndcg_at_k(table, t, k, graded=graded) == pytest.approx(expected, rel=1e-12)


def _brute_force(lists: dict[str, list[str]], relevant: dict[str, set[str]], k: int,
                 common: bool) -> dict[str, float]:
    ap_k, ap_all, precision, recall = [], [], [], []
    for resident, wanted in relevant.items():
        if common and resident not in lists:
            continue
        hits, total = 0, 0.0
        for position, service in enumerate(lists.get(resident, [])[:k], start=1):
            if service in wanted:
                hits += 1
                total += hits / position
        ap_k.append(total / min(len(wanted), k))
        ap_all.append(total / len(wanted))
        precision.append(hits / k)
        recall.append(hits / len(wanted))
    return {"map_at_k": float(np.mean(ap_k)), "map": float(np.mean(ap_all)),
            "precision": float(np.mean(precision)), "recall": float(np.mean(recall))}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("residents", ["truth", "common"])
def test_map_precision_recall_match_brute_force(seed: int, residents: Residents) -> None:
    rng = np.random.default_rng(seed)
    services = [f"s{j}" for j in range(30)]
    lists = {f"r{i}": list(rng.choice(services, size=rng.integers(1, 15), replace=False))
             for i in range(80) if rng.random() < 0.85}
    relevant = {f"r{i}": set(rng.choice(services, size=rng.integers(1, 12), replace=False)) for i in range(100)}
    table = recs(lists).sample(frac=1.0, random_state=seed)  # row order must not matter
    t = truth({r: sorted(s) for r, s in relevant.items()})
    for k in (1, 3, 10, 20):
        expected = _brute_force(lists, relevant, k, common=residents == "common")
        assert map_at_k(table, t, k, residents=residents) == pytest.approx(expected["map_at_k"])
        assert mean_average_precision(table, t, k, residents=residents) == pytest.approx(expected["map"])
        assert precision_at_k(table, t, k, residents=residents) == pytest.approx(expected["precision"])
        assert recall_at_k(table, t, k, residents=residents) == pytest.approx(expected["recall"])


# ----- beyond accuracy ----------------------------------------------------------------------------------
def test_catalogue_coverage_counts_distinct_services() -> None:
    r = recs({"a": ["s1", "s2"], "b": ["s1", "s3"]})
    assert catalogue_coverage(r, n_services=10) == pytest.approx(0.3)
    assert catalogue_coverage(r, n_services=10, k=1) == pytest.approx(0.1)
    with pytest.raises(MetricInputError, match="more than n_services"):
        catalogue_coverage(r, n_services=2)


def test_category_diversity_counts_distinct_categories_per_list() -> None:
    categories = pd.Series({"s1": "health", "s2": "health", "s3": "childcare", "s4": "culture_sports"})
    r = recs({"a": ["s1", "s2", "s3"], "b": ["s4", "s3", "s1"]})
    assert category_diversity(r, categories) == pytest.approx((2 + 3) / 2)
    assert category_diversity(r, categories, k=2) == pytest.approx((1 + 2) / 2)
    with pytest.raises(MetricInputError, match=r"no category for service.*s9"):
        category_diversity(recs({"a": ["s1", "s9"]}), categories)
    with pytest.raises(MetricInputError, match="empty"):
        category_diversity(recs({}), categories)


def test_novelty_is_mean_self_information() -> None:
    popularity = pd.Series({"popular": 6, "niche": 2})
    assert novelty(recs({"a": ["niche"], "b": ["popular"]}), popularity) == pytest.approx(
        (-math.log2(0.25) - math.log2(0.75)) / 2)
    assert novelty(recs({"a": ["unseen"]}), popularity) == pytest.approx(3.0)  # counts as seen once: 1/8
    assert novelty(recs({"a": ["niche", "popular"]}), popularity, k=1) == pytest.approx(2.0)


def test_per_group_ndcg_counts_a_resident_in_each_of_their_groups() -> None:
    r = recs({"a": ["s1"], "b": ["x"], "c": ["s3"]})
    t = truth({"a": ["s1"], "b": ["s2"], "c": ["s3"]})
    long = pd.DataFrame({C.RESIDENT: ["a", "a", "b", "c", "d"],
                         "persona": ["elderly", "migrant", "elderly", "student", "student"]})
    expected = {"elderly": 0.5, "migrant": 1.0, "student": 1.0}
    assert per_group_ndcg(r, t, long, k=1) == pytest.approx(expected)
    wide = pd.DataFrame({"elderly": [True, True, False], "migrant": [True, False, False],
                         "student": [False, False, True], "commuter": [False, False, False]},
                        index=pd.Index(["a", "b", "c"], name=C.RESIDENT))
    by_wide = per_group_ndcg(r, t, wide, k=1)
    assert list(by_wide) == ["elderly", "migrant", "student", "commuter"]
    assert {g: by_wide[g] for g in expected} == pytest.approx(expected)
    assert math.isnan(by_wide["commuter"])


def test_cold_start_ndcg_averages_only_the_given_residents() -> None:
    r, t = recs({"a": ["s1"], "b": ["x"]}), truth({"a": ["s1"], "b": ["s2"]})
    assert cold_start_ndcg(r, t, {"b"}, k=1) == 0.0
    assert cold_start_ndcg(r, t, ["a", "b", "ghost"], k=1) == pytest.approx(0.5)
    assert math.isnan(cold_start_ndcg(r, t, {"ghost"}, k=1))


def test_evaluate_names_and_values() -> None:
    r = recs({"a": ["s1", "s2", "s3"], "b": ["s4", "s1", "s2"], "no_truth": ["s9", "s8", "s7"]})
    t = truth({"a": {"s2": 2.0}, "b": {"s1": 1.0, "s5": 3.0}})
    groups = pd.DataFrame({C.RESIDENT: ["a", "b"], "persona": ["elderly", "commuter"]})
    popularity = pd.Series({"s1": 10, "s2": 5, "s3": 1, "s4": 1})
    categories = pd.Series({f"s{i}": "a" if i < 3 else "b" for i in range(1, 10)})
    result = evaluate(r, t, k=2, popularity=popularity, n_services=20, groups=groups, cold_start={"b"},
                      categories=categories)
    assert set(result) == {"ndcg@2", "map@2", "recall@2", "precision@2", "coverage", "novelty",
                           "category_diversity", "per_persona_ndcg@2", "cold_start_ndcg@2"}
    assert result["category_diversity"] == pytest.approx((1 + 2 + 1) / 3)  # a: s1 s2; b: s4 s1; no_truth: s9 s8
    assert result["ndcg@2"] == pytest.approx(ndcg_at_k(r, t, 2))
    assert result["map@2"] == pytest.approx(map_at_k(r, t, 2))
    assert result["recall@2"] == pytest.approx((1 + 1 / 2) / 2)
    assert result["precision@2"] == pytest.approx(0.5)
    assert result["coverage"] == pytest.approx(len({"s1", "s2", "s4", "s9", "s8"}) / 20)
    assert result["novelty"] == pytest.approx(novelty(r, popularity, k=2))
    assert result["per_persona_ndcg@2"] == pytest.approx(per_group_ndcg(r, t, groups, k=2))
    assert result["cold_start_ndcg@2"] == pytest.approx(per_resident_metrics(r, t, 2).loc["b", "ndcg"])
    assert set(evaluate(r, t, k=10)) == {"ndcg@10", "map@10", "recall@10", "precision@10"}


def test_evaluate_handles_100k_residents() -> None:
    """Scale check (timing lives in benchmarks, not in tests): 100k residents evaluate to sane values."""
    rng = np.random.default_rng(0)
    n, m, k = 100_000, 120, 10
    residents = np.array([f"R{i:07d}" for i in range(n)], dtype=object)
    services = IdMap.from_values("service", [f"SV{j:03d}" for j in range(m)])
    table = top_k_frame(residents, rng.random((n, m)), services, k)
    wanted = rng.integers(0, m, (n, 3))
    t = pd.DataFrame({C.RESIDENT: np.repeat(residents, 3), C.SERVICE: services.to_external(wanted.ravel()),
                      "relevance": 1.0})
    groups = pd.DataFrame(rng.random((n, 7)) < 0.3, index=pd.Index(residents, name=C.RESIDENT))
    groups.columns = [f"p{j}" for j in range(7)]
    popularity = pd.Series(rng.integers(1, 100, m), index=services.external)
    result = evaluate(table, t, k=k, popularity=popularity, n_services=m, groups=groups,
                      cold_start=set(residents[:5000]))
    ndcg = result["ndcg@10"]
    assert isinstance(ndcg, float) and 0.0 < ndcg < 0.3  # random scores: near chance
