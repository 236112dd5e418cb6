"""Choosing the MovieLens hybrid's settings on validation only: never on test.

For each split seed, the benchmark's train split (:func:`training.benchmark_protocol.split`; test is dropped
unread) is split again into inner-train and a validation slice (:func:`~training.benchmark_protocol.validation_split`,
the slice the single models are tuned on). The single models are tuned there exactly as in
:mod:`experiments.movielens_bench`; the hybrid (the shipped :class:`~recommenders.hybrid.HybridRecommender`
configured by ``experiments/configs/movielens.toml``) then learns its ranker from its label strategy on
inner-train, its generators are refitted on inner-train and it is scored on the validation slice — the
benchmark's own path one level down. Candidate rows are built once per seed; every ranker variant (bags, their
combination, hyper-parameters) is trained on the same rows, so the comparison is cheap and paired.

Run: ``python -m experiments.movielens_validation [--seeds 42,1,2] [--stage bags|grid|all] [--rows DIR]``;
prints validation nDCG@10 per seed and the mean for every variant (JSON lines).
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np

from experiments import movielens_bench as mb
from recommenders.hybrid import HybridRecommender, TrainingRows
from recommenders.ranker import RankerConfig
from recommenders.ranker_bag import RankerBag
from training import benchmark_protocol as bp

#: Ranker variants compared in each stage (name → HybridConfig fields).
BAGS: dict[str, dict[str, Any]] = {f"bags={b} {c}": {"ranker_bags": b, "bag_combination": c}
                                   for b in (1, 3, 5) for c in ("rank_share", "mean_score")}


def _grid() -> dict[str, dict[str, Any]]:
    base = mb.load_config().ranker
    variants: dict[str, dict[str, Any]] = {}
    for leaves in (15, 31, 63):
        for min_child in (50, 200):
            for rate, trees in ((0.05, 300), (0.02, 800)):
                for colsample in (0.8, 0.5):
                    ranker = base.model_copy(update={
                        "num_leaves": leaves, "min_child_samples": min_child, "learning_rate": rate,
                        "n_estimators": trees, "colsample_bytree": colsample,
                        "early_stopping_rounds": 40 if rate >= 0.05 else 100})
                    variants[f"leaves={leaves} min_child={min_child} lr={rate}x{trees} colsample={colsample}"] = {
                        "ranker": ranker}
    return variants


def prepare(dataset: Any, seed: int) -> dict[str, Any]:
    """Tune the singles on validation, build the hybrid's ranker rows on inner-train and its validation
    candidates (generators refitted on inner-train)."""
    train, _ = bp.split(dataset, seed, mb.PROTOCOL)
    inner, validation = bp.validation_split(train, seed, mb.PROTOCOL)
    tuned: dict[str, dict[str, Any]] = {}
    singles: dict[str, float] = {}
    for model_name, (registered, grid) in mb.GRIDS.items():
        point, ndcg = mb.tune(registered, inner, validation, grid, mb.PROTOCOL.k)
        tuned[registered], singles[model_name] = mb._params(point), round(ndcg, 4)
    hybrid = HybridRecommender(mb.with_tuned_generators(mb.load_config(), tuned, seed))
    rows = hybrid.training_rows(inner)
    hybrid.fit_ranker(rows, inner)
    residents = bp.residents_to_rank(inner, validation)
    features, cand_rows, cand_cols = hybrid._candidate_blocks(residents, inner.resident_ids.to_external(residents))
    return {"seed": seed, "inner": inner, "validation": validation, "tuned": tuned, "singles": singles,
            "config": hybrid.config, "rows": rows, "residents": residents, "features": features,
            "cand_rows": cand_rows, "cand_cols": cand_cols, "n_services": len(inner.service_ids)}


def validation_ndcg(prepared: dict[str, Any], **fields: Any) -> float:
    """Validation nDCG@10 of a ranker variant (``HybridConfig`` fields) trained on the prepared rows."""
    rows: TrainingRows = prepared["rows"]
    config = prepared["config"].model_copy(update=fields)
    variant = HybridRecommender(config)
    bag = RankerBag(variant._ranker_config(), config.ranker_bags, config.seed, config.bag_combination)
    bag.fit(rows.features, rows.relevance, rows.groups)
    scores = np.full((len(prepared["residents"]), prepared["n_services"]), -np.inf)
    scores[prepared["cand_rows"], prepared["cand_cols"]] = bag.score(prepared["features"], prepared["cand_rows"])
    top = bp.unseen_top_k(prepared["inner"], prepared["residents"], scores, mb.PROTOCOL.k)
    return bp.evaluate(top, prepared["validation"], mb.PROTOCOL.k)[f"ndcg@{mb.PROTOCOL.k}"]


def compare(prepared: list[dict[str, Any]], variants: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation nDCG@10 per seed and mean for every variant, printed as JSON lines as they finish."""
    results = []
    for name, fields in variants.items():
        started = time.perf_counter()
        per_seed = {p["seed"]: round(validation_ndcg(p, **fields), 4) for p in prepared}
        row = {"variant": name, "per_seed": per_seed, "mean": round(float(np.mean(list(per_seed.values()))), 4),
               "seconds": round(time.perf_counter() - started, 1)}
        print(json.dumps(row), flush=True)
        results.append(row)
    return results


#: Extra candidate generators tried for diversity (registered name → fields; weights added as in the benchmark).
EXTRA_GENERATORS: dict[str, tuple[str, dict[str, Any]]] = {
    "ease_lambda_100": ("ease", {"regularization": 100.0}),
    "als_128_factors": ("als", {"factors": 128, "regularization": 50.0, "alpha": 2.0, "iterations": 15}),
    "item_knn_cosine_50": ("item_knn", {"neighbours": 50, "weighting": "none", "self_weight": 0.0}),
}


def candidate_recall(prepared: dict[str, Any], extra: tuple[str, dict[str, Any]] | None = None, take: int = 50,
                     folds: int = 4) -> tuple[float, float]:
    """Share of a fold's held-out ratings among the union of the generators' top ``take`` unrated services
    (fold 0 of inner-train) and the mean number of candidates per resident; ``extra`` adds one generator."""
    from features.columns import Columns as C

    if "_fold0" not in prepared:  # fold 0 and the tuned generators' scores, computed once per seed
        history, labels = bp.stratified_folds(prepared["inner"], folds, prepared["seed"], mb.PROTOCOL)[0]
        residents = bp.residents_to_rank(history, labels)
        prepared["_fold0"] = (history, labels, residents, bp.seen_matrix(history)[residents].nonzero(),
                              [_unseen_scores(name, params, history, residents)
                               for name, params in prepared["tuned"].items()])
    history, labels, residents, seen, base = prepared["_fold0"]
    extras = [] if extra is None else [_unseen_scores(extra[0], mb._params(extra[1]), history, residents, seen)]
    mask = np.zeros((len(residents), len(history.service_ids)), dtype=bool)
    for scores in [*base, *extras]:
        np.put_along_axis(mask, np.argsort(-scores, axis=1)[:, :take], True, axis=1)
    rows = np.searchsorted(residents, history.resident_ids.to_internal(labels[C.RESIDENT]))
    cols = history.service_ids.to_internal(labels[C.SERVICE])
    return float(mask[rows, cols].mean()), float(mask.sum(axis=1).mean())


def _unseen_scores(name: str, params: dict[str, Any], history: Any, residents: np.ndarray,
                   seen: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    from recommenders.registry import make_recommender

    scores = make_recommender(name, params).fit(history).score_matrix(residents).astype(np.float64)
    seen = bp.seen_matrix(history)[residents].nonzero() if seen is None else seen
    scores[seen] = -np.inf
    return scores


def _load_or_prepare(dataset: Any, seed: int, cache: Path | None) -> dict[str, Any]:
    path = cache / f"validation_rows_{seed}.pkl" if cache else None
    if path is not None and path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    prepared = prepare(dataset, seed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            pickle.dump(prepared, handle)
    return prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42,1,2")
    parser.add_argument("--stage", choices=("bags", "grid", "recall", "all"), default="all")
    parser.add_argument("--rows", type=Path, default=None, help="cache folder for the prepared rows")
    parser.add_argument("--ranker", default=None, help="JSON RankerConfig fields for the bags stage")
    parser.add_argument("--grid", default=None,
                        help="JSON list of RankerConfig field overrides (replaces the full grid)")
    args = parser.parse_args()
    dataset, _ = mb.load(None, Path("data/cache"))
    prepared = []
    for seed in (int(s) for s in args.seeds.split(",")):
        started = time.perf_counter()
        prepared.append(_load_or_prepare(dataset, seed, args.rows))
        print(json.dumps({"seed": seed, "singles_validation_ndcg": prepared[-1]["singles"],
                          "candidate_recall": round(prepared[-1]["rows"].recall, 4),
                          "prepare_seconds": round(time.perf_counter() - started, 1)}), flush=True)
    bags = BAGS
    if args.ranker:
        ranker = RankerConfig(**{**mb.load_config().ranker.model_dump(), **json.loads(args.ranker)})
        bags = {f"{name} ranker={args.ranker}": {**fields, "ranker": ranker} for name, fields in BAGS.items()}
    if args.stage in ("grid", "all"):
        grid = _grid()
        if args.grid:
            base = mb.load_config().ranker
            grid = {json.dumps(point): {"ranker": base.model_copy(update=point)} for point in json.loads(args.grid)}
        compare(prepared, grid)
    if args.stage in ("bags", "all"):
        compare(prepared, bags)
    if args.stage in ("recall", "all"):
        for take in (50, 60):
            for name, extra in {"base": None, **EXTRA_GENERATORS}.items():
                found = [candidate_recall(p, extra, take) for p in prepared]
                per_seed = {p["seed"]: round(f[0], 4) for p, f in zip(prepared, found, strict=True)}
                print(json.dumps({"candidates": name, "per_generator": take, "recall_per_seed": per_seed,
                                  "mean_recall": round(float(np.mean([f[0] for f in found])), 4),
                                  "mean_candidates": round(float(np.mean([f[1] for f in found])), 1)}), flush=True)


if __name__ == "__main__":
    main()
