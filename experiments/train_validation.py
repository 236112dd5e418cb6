"""Choosing the hybrid's settings on validation communities, never on the benchmark's own community.

``linli bench train`` reports the issue's targets on the seed-42 community. Settings are chosen here instead, on
communities generated with other seeds (1, 2, 3 by default): for every variant (fields of
:class:`~recommenders.hybrid.HybridConfig`, ``ranker`` fields nested) the hybrid is fitted before each community's
last ``test_weeks`` and scored there, overall and per persona. A variant is worth keeping when it is better on every
community, not only on the mean.

Run variants as TOML files (``experiments/configs/variants/``) with ``linli experiment run CONFIG... --seeds``;
:func:`run` returns one row per variant (NDCG@10, worst / best persona with its 95 % bootstrap interval over
residents and
distinct categories per list, per seed, and their means). Seed 42 scores the benchmark's own community, to
read its figures, not to choose.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pandas as pd

from experiments.train_bench import worst_over_best_persona
from features.sources.synthetic import generate_community
from recommenders.hybrid import HybridConfig, HybridRecommender
from training.config import TrainConfig
from training.evaluation import EvaluationWindow
from training.metrics import per_resident_metrics
from training.splits import time_split

VALIDATION_SEEDS = (1, 2, 3)


def variant_config(base: HybridConfig, fields: dict[str, Any]) -> HybridConfig:
    """``base`` with ``fields`` applied (``ranker`` may hold a dict of ranker fields)."""
    update = dict(fields)
    if isinstance(update.get("ranker"), dict):
        update["ranker"] = base.ranker.model_copy(update=update["ranker"])
    return HybridConfig.model_validate(base.model_dump() | update)


def score(window: EvaluationWindow, model: HybridRecommender) -> dict[str, float | list[float]]:
    """NDCG@k, worst / best persona NDCG@k (with its bootstrap interval) and distinct categories per list of
    ``model`` on ``window``."""
    lists = model.recommend(window.residents, window.k)
    metrics = window.score_lists(lists)
    per_resident = per_resident_metrics(lists, window.truth, window.k)["ndcg"]
    low, high = persona_ratio_interval(per_resident, window.personas)
    return {"ndcg@10": round(float(metrics[f"ndcg@{window.k}"]), 4),
            "worst_over_best_persona": round(worst_over_best_persona(metrics[f"per_persona_ndcg@{window.k}"]), 3),
            "worst_over_best_persona_95": [round(low, 3), round(high, 3)],
            "category_diversity": round(float(metrics["category_diversity"]), 2)}


def persona_ratio_interval(per_resident: pd.Series, personas: pd.DataFrame, draws: int = 1000, seed: int = 0
                           ) -> tuple[float, float]:
    """95 % bootstrap interval of the worst / best persona NDCG ratio.

    Residents are resampled within each persona (``personas``: boolean columns indexed by resident id) and the
    ratio of the lowest to the highest persona mean recomputed ``draws`` times: how far the ratio moves with
    which residents happen to be in the test window.
    """
    tagged = personas.reindex(per_resident.index).fillna(False).astype(bool)
    values = per_resident.to_numpy(dtype=np.float64)
    groups = {p: values[tagged[p].to_numpy()] for p in tagged.columns if tagged[p].any()}
    rng = np.random.default_rng(seed)
    ratios = np.empty(draws)
    for i in range(draws):
        ratios[i] = worst_over_best_persona({p: g[rng.integers(0, len(g), len(g))].mean() for p, g in groups.items()})
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


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
            per_seed[seed] = score(window, hybrid.fit(dataset, split.train_until))
        means = {f"mean_{key}": round(float(np.mean([v[key] for v in per_seed.values()])), digits)
                 for key, digits in (("ndcg@10", 4), ("worst_over_best_persona", 3), ("category_diversity", 2))}
        row = {"variant": name, "per_seed": per_seed, **means, "seconds": round(time.perf_counter() - started, 1)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows

