"""Choosing the hybrid's settings on validation communities, never on the benchmark's own community.

``linli bench train`` reports the issue's targets on the seed-42 community. Settings are chosen here instead, on
communities generated with other seeds (1, 2, 3 by default): for every variant (fields of
:class:`~recommenders.hybrid.HybridConfig`, ``ranker`` fields nested) the hybrid is fitted before each community's
last ``test_weeks`` and scored there, overall and per persona. A variant is worth keeping when it is better on every
community, not only on the mean.

Run: ``python -m experiments.train_validation --variants '{"base": {}, "leaves15": {"ranker": {"num_leaves": 15}}}'``
(JSON lines, one per variant: NDCG@10 and worst / best persona per seed, and their means).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from experiments.train_bench import worst_over_best_persona
from features.sources.synthetic import generate_community
from recommenders.hybrid import HybridConfig, HybridRecommender
from training.config import TrainConfig
from training.evaluation import EvaluationWindow
from training.metrics import ndcg_at_k, per_group_ndcg
from training.splits import time_split

VALIDATION_SEEDS = (1, 2, 3)


def variant_config(base: HybridConfig, fields: dict[str, Any]) -> HybridConfig:
    """``base`` with ``fields`` applied (``ranker`` may hold a dict of ranker fields)."""
    update = dict(fields)
    if isinstance(update.get("ranker"), dict):
        update["ranker"] = base.ranker.model_copy(update=update["ranker"])
    return HybridConfig.model_validate(base.model_dump() | update)


def score(window: EvaluationWindow, model: HybridRecommender) -> tuple[float, float]:
    """NDCG@k and worst / best persona NDCG@k of ``model`` on ``window``."""
    lists = model.recommend(window.residents, window.k)
    per_persona = per_group_ndcg(lists, window.truth, window.personas, window.k)
    return float(ndcg_at_k(lists, window.truth, window.k)), worst_over_best_persona(per_persona)


def run(variants: dict[str, dict[str, Any]], seeds: tuple[int, ...] = VALIDATION_SEEDS,
        residents: int = 20_000) -> list[dict[str, Any]]:
    """Score every variant on every validation community; print and return one row per variant."""
    config = TrainConfig()
    communities = []
    for seed in seeds:
        dataset = generate_community(residents=residents, seed=seed).dataset()
        split = time_split(dataset, test_weeks=config.test_weeks, validation_weeks=0)
        communities.append((seed, dataset, split, EvaluationWindow.build(dataset, split, config.k, seed)))
    rows = []
    for name, fields in variants.items():
        started = time.perf_counter()
        per_seed = {}
        for seed, dataset, split, window in communities:
            hybrid = HybridRecommender(variant_config(config.with_seed(seed).hybrid, fields))
            ndcg, floor = score(window, hybrid.fit(dataset, split.train_until))
            per_seed[seed] = {"ndcg@10": round(ndcg, 4), "worst_over_best_persona": round(floor, 3)}
        row = {"variant": name, "per_seed": per_seed,
               "mean_ndcg@10": round(float(np.mean([v["ndcg@10"] for v in per_seed.values()])), 4),
               "mean_worst_over_best_persona": round(float(np.mean(
                   [v["worst_over_best_persona"] for v in per_seed.values()])), 3),
               "seconds": round(time.perf_counter() - started, 1)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default='{"base": {}}', help="JSON: name → HybridConfig fields")
    parser.add_argument("--seeds", default=",".join(map(str, VALIDATION_SEEDS)))
    parser.add_argument("--residents", type=int, default=20_000)
    args = parser.parse_args(argv)
    run(json.loads(args.variants), tuple(int(s) for s in args.seeds.split(",")), args.residents)


if __name__ == "__main__":
    main()
