"""MovieLens benchmark on the published protocol: Linli's models next to Microsoft Recommenders' figures.

For each split seed (42, 1, 2 by default), in one process and on the same splits
(:mod:`training.benchmark_protocol`): popularity, item-kNN, implicit ALS, implicit BPR and EASE are each
tuned on a validation slice carved out of train (never on test), refitted on all of train and evaluated on
test; Linli's hybrid — the shipped :class:`~recommenders.hybrid.HybridRecommender`, configured by
``experiments/configs/movielens.toml`` (stratified-fold labels, the tuned models as candidate generators, LightGBM
LambdaRank over their ranks plus the registered side and time feature families) — is trained on train and
evaluated on the same test. The run is logged to MLflow. Run: ``linli bench movielens --json``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from pydantic import ValidationError

from features.dataset import Dataset
from features.toml_files import read_toml
from recommenders.hybrid import HybridConfig, HybridRecommender
from recommenders.label_strategies import StratifiedFoldLabels
from recommenders.registry import make_recommender
from training import benchmark_protocol as bp
from training.tracking import connect, flat_metrics

#: The hybrid's configuration for the published protocol.
CONFIG = Path(__file__).resolve().parent / "configs" / "movielens.toml"

#: Every rating is an interaction; its weight is its number of stars (rate 5 × rating / 5).
RATING_WEIGHTS: dict[str, float] = {"rate": 5.0, "rating_pivot": 0.0}
SEEDS = (42, 1, 2)
PROTOCOL = bp.Protocol()
HYBRID = "linli_hybrid"

#: Model → (registered recommender, grid searched on the validation slice).
GRIDS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "popularity": ("popular", [{}]),
    "item_knn": ("item_knn", [{"neighbours": k, "weighting": w, "self_weight": 0.0}
                              for k in (200, 800) for w in ("bm25", "tfidf")]),
    "implicit_als": ("als", [{"factors": f, "regularization": r, "alpha": 2.0, "iterations": 15}
                             for f in (32, 64) for r in (10.0, 50.0, 150.0)]),
    "implicit_bpr": ("bpr", [{"factors": 64, "learning_rate": lr, "regularization": reg, "iterations": 100,
                              "min_weight": 0.1} for lr in (0.01, 0.05) for reg in (0.001, 0.01)]),
    "ease": ("ease", [{"regularization": lam} for lam in (250.0, 500.0, 1000.0, 2000.0)]),
}
#: Quick grids for smoke runs (tests): one point each, few iterations.
QUICK_GRIDS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "popularity": ("popular", [{}]),
    "implicit_als": ("als", [{"factors": 8, "regularization": 50.0, "iterations": 3}]),
    "ease": ("ease", [{"regularization": 500.0}]),
}


class BenchConfigError(ValueError):
    """The benchmark's hybrid configuration file cannot be read or breaks the HybridConfig schema."""


def load_config(path: Path = CONFIG) -> HybridConfig:
    """The ``[hybrid]`` table of a TOML file as a :class:`HybridConfig` (errors name the file and the key)."""
    table = read_toml(path, BenchConfigError, "hybrid config")
    try:
        return HybridConfig.model_validate(table.get("hybrid", {}))
    except ValidationError as exc:
        raise BenchConfigError(f"hybrid config {path} is invalid:\n{exc}") from exc


def quick_config(config: HybridConfig) -> HybridConfig:
    """A smoke-run version of ``config``: two folds, fewer candidates, one small ranker."""
    labels = config.labels
    if isinstance(labels, StratifiedFoldLabels):
        labels = labels.model_copy(update={"folds": 2})
    ranker = config.ranker.model_copy(update={"n_estimators": 20, "early_stopping_rounds": 10, "n_jobs": 1})
    return config.model_copy(update={"labels": labels, "candidates_per_generator": 20, "ranker": ranker,
                                     "ranker_bags": 1})


def with_tuned_generators(config: HybridConfig, tuned: dict[str, dict[str, Any]], seed: int) -> HybridConfig:
    """``config`` for one split seed: its generators take their tuned parameters, and the seed."""
    generators = {name: {**params, **tuned.get(name, {})} for name, params in config.generators.items()}
    return config.model_copy(update={"generators": generators, "seed": seed})


def _params(grid_point: dict[str, Any]) -> dict[str, Any]:
    return {**grid_point, "weights": RATING_WEIGHTS}


def _ndcg(train: Dataset, test: Any, scorer: Callable[[np.ndarray], np.ndarray], k: int) -> dict[str, float]:
    residents = bp.residents_to_rank(train, test)
    return bp.evaluate(bp.unseen_top_k(train, residents, scorer(residents), k), test, k)


def tune(name: str, inner: Dataset, validation: Any, grid: list[dict[str, Any]], k: int) -> tuple[dict, float]:
    """The grid point with the best validation nDCG@k (first on ties) and that nDCG."""
    best, best_ndcg = grid[0], -1.0
    for point in grid:
        model = make_recommender(name, _params(point)).fit(inner)
        ndcg = _ndcg(inner, validation, model.score_matrix, k)[f"ndcg@{k}"]
        if ndcg > best_ndcg:
            best, best_ndcg = point, ndcg
    return best, best_ndcg


def run_seed(dataset: Dataset, seed: int, grids: dict[str, tuple[str, list[dict[str, Any]]]] = GRIDS, *,
             config: HybridConfig | None = None, protocol: bp.Protocol = PROTOCOL) -> dict[str, dict[str, Any]]:
    """Tune, fit and evaluate every model on one split seed; the hybrid last (it uses the tuned models).

    Returns
    -------
    dict
        Model → ``ndcg@k, precision@k, recall@k, map, train_seconds`` (+ ``tuned`` params, ``validation_ndcg``;
        for the hybrid ``candidate_recall`` and ``ranker_iterations``).
    """
    k = protocol.k
    train, test = bp.split(dataset, seed, protocol)
    inner, validation = bp.validation_split(train, seed, protocol)
    out: dict[str, dict[str, Any]] = {}
    tuned: dict[str, dict[str, Any]] = {}
    for model_name, (registered, grid) in grids.items():
        started = time.perf_counter()
        point, val_ndcg = tune(registered, inner, validation, grid, k)
        tuning = time.perf_counter() - started
        started = time.perf_counter()
        model = make_recommender(registered, _params(point)).fit(train)
        seconds = time.perf_counter() - started
        out[model_name] = {**_ndcg(train, test, model.score_matrix, k), "train_seconds": round(seconds, 2),
                           "tuning_seconds": round(tuning, 2), "validation_ndcg": round(val_ndcg, 4),
                           "tuned": point}
        tuned[registered] = _params(point)
    started = time.perf_counter()
    hybrid_config = with_tuned_generators(config or load_config(), tuned, seed)
    hybrid = HybridRecommender(hybrid_config).fit(train)
    seconds = time.perf_counter() - started
    out[HYBRID] = {**_ndcg(train, test, hybrid.score_matrix, k), "train_seconds": round(seconds, 2),
                   "candidate_recall": round(hybrid.candidate_recall_, 4),
                   "ranker_iterations": hybrid.ranker_.best_iteration_}
    return out


def summarise(per_seed: dict[int, dict[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Mean (and standard deviation, as ``*_std``) over seeds of every numeric metric, per model."""
    models = next(iter(per_seed.values())).keys()
    summary: dict[str, dict[str, float]] = {}
    for model in models:
        rows = [per_seed[seed][model] for seed in per_seed]
        keys = [key for key in (*bp.METRICS, "train_seconds") if key in rows[0]]
        summary[model] = {key: round(float(np.mean([r[key] for r in rows])), 4) for key in keys}
        summary[model] |= {f"{key}_std": round(float(np.std([r[key] for r in rows])), 4) for key in bp.METRICS}
    return summary


def run(dataset: Dataset, seeds: Sequence[int] = SEEDS, *, data_name: str = "ml-100k",
        tracking_uri: str | None = None, artifact_location: str | None = None, quick: bool = False,
        config: HybridConfig | None = None) -> dict[str, Any]:
    """The whole benchmark: every seed, means over seeds, published figures, logged to MLflow when a URI is given.

    Parameters
    ----------
    dataset : Dataset
        Ratings as interactions of event ``rate`` (see :mod:`features.sources.movielens`).
    seeds : sequence of int
    data_name : str
        Shown in the output and the MLflow run.
    tracking_uri, artifact_location : str, optional
        MLflow store (the run is named ``movielens-bench``); no logging when ``tracking_uri`` is None.
    quick : bool
        Smoke run: one grid point for three models, two folds, a small ranker.
    config : HybridConfig, optional
        The hybrid (default: :func:`load_config` of ``experiments/configs/movielens.toml``).
    """
    started = time.perf_counter()
    config = config or load_config()
    grids = GRIDS
    if quick:
        grids, config = QUICK_GRIDS, quick_config(config)
    per_seed = {seed: run_seed(dataset, seed, grids, config=config) for seed in seeds}
    models = summarise(per_seed)
    best_single = max((m for m in models if m != HYBRID), key=lambda m: models[m]["ndcg@10"])
    hybrid = models[HYBRID]["ndcg@10"]
    result: dict[str, Any] = {
        "data": data_name, "summary": dataset.summary(), "protocol": PROTOCOL.describe(), "seeds": list(seeds),
        "hybrid_config": config.model_dump(mode="json"), "models": models,
        "per_seed": {str(seed): rows for seed, rows in per_seed.items()},
        "published_ndcg@10": bp.PUBLISHED_NDCG,
        "targets": {"hybrid_ndcg@10": hybrid, "best_single": best_single,
                    "hybrid_minus_best_single": round(hybrid - models[best_single]["ndcg@10"], 4),
                    "hybrid_minus_best_published": round(hybrid - max(bp.PUBLISHED_NDCG.values()), 4),
                    "met": bool(hybrid >= 0.50 and hybrid >= models[best_single]["ndcg@10"] + 0.01)},
        "cores": os.cpu_count(), "wall_seconds": round(time.perf_counter() - started, 1),
    }
    if tracking_uri:
        result["mlflow_run_id"] = log_run(result, tracking_uri, artifact_location)
    return result


def log_run(result: dict[str, Any], tracking_uri: str, artifact_location: str | None = None) -> str:
    """Log the benchmark as one MLflow run: means as metrics, per-seed values as steps, the JSON as artifact."""
    connect(tracking_uri, artifact_location)
    with mlflow.start_run(run_name="movielens-bench") as active:
        mlflow.log_params({"benchmark": "movielens", "data": result["data"],
                           "seeds": ",".join(map(str, result["seeds"])), "split": result["protocol"]["split"],
                           "top_k": result["protocol"]["top_k"]})
        mlflow.log_metrics(flat_metrics(result["models"]))
        for seed, rows in result["per_seed"].items():
            for key, value in flat_metrics({m: {k: v for k, v in r.items() if k in bp.METRICS}
                                            for m, r in rows.items()}, "seed.").items():
                mlflow.log_metric(key, value, step=int(seed))
        mlflow.log_metric("wall_seconds", result["wall_seconds"])
        mlflow.log_dict(result, "movielens_bench.json")
        return active.info.run_id


def format_report(result: dict[str, Any]) -> str:
    """Markdown table of Linli's models (mean ± std over seeds) next to the published nDCG@10."""
    seeds = ", ".join(map(str, result["seeds"]))
    lines = [f"**{result['data']}**, seeds {seeds}: mean ± std over seeds; {result['cores']} cores, "
             f"{result['wall_seconds']:.0f} s in all", "",
             "| model | nDCG@10 | Precision@10 | Recall@10 | MAP | train s |", "|---|---|---|---|---|---|"]
    for name, m in sorted(result["models"].items(), key=lambda item: -item[1]["ndcg@10"]):
        lines.append(f"| {name} | {m['ndcg@10']:.4f} ± {m['ndcg@10_std']:.4f} | {m['precision@10']:.4f} | "
                     f"{m['recall@10']:.4f} | {m['map']:.4f} | {m['train_seconds']:.1f} |")
    lines += ["", "| published (Recommenders, seed 42) | nDCG@10 |", "|---|---|"]
    lines += [f"| {name} | {value:.4f} |" for name, value in result["published_ndcg@10"].items()]
    return "\n".join(lines)


def load(data: Path | None, cache_dir: Path) -> tuple[Dataset, str]:
    """MovieLens-100K from the cache (fetched once), or the RecBole atomic files in ``data``."""
    from features.sources.movielens import ML100K, atomic_name, load_movielens_100k, load_recbole

    if data is None:
        return load_movielens_100k(cache_dir), ML100K
    return load_recbole(data), atomic_name(data)
