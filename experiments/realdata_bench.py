"""Real data, time split: MovieLens-100K through Linli's contracts, every model on consecutive held-out windows.

The last ``windows`` windows of ``weeks`` weeks each, ending at the end of the data, are scored one after the
other. For each window every model is fitted as ``linli train`` fits it — its parameters from the training
config (default ``training/default.toml``), the hybrid as :class:`~recommenders.hybrid.HybridRecommender`
— on everything before the window's start (the cut), and judged by NDCG@k of its lists for the residents with a
relevant event in the window (relevance: book, use, or a rating above 2; :mod:`training.relevance`).

Per-resident NDCG is pooled over the windows (a resident scored in two windows counts twice), overall and per
cohort: ``with_history`` (any event before the cut) and ``new``. Each model's pooled ratio to ``popular`` (the
time-aware popularity, recency chosen on the training history) gets a paired bootstrap interval
(:mod:`training.bootstrap`, resampling within windows). One MLflow run holds it all. Run:
``linli bench realdata --json``; the report is printed by :mod:`experiments.realdata_report`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.base import Recommender
from recommenders.hybrid import HybridRecommender
from recommenders.popular import PopularRecommender
from recommenders.registry import RECOMMENDERS, make_recommender
from training.bootstrap import paired_ratio_interval
from training.config import TrainConfig
from training.evaluation import EvaluationWindow
from training.metrics import per_resident_metrics
from training.splits import time_split
from training.tracking import connect, flat_metrics

#: Models in the order of the report; ``hybrid`` is the shipped model, the others are registered generators
#: (a name not registered in this build is listed under ``missing`` and left out).
MODELS: tuple[str, ...] = ("popular", "popular_count", "personal_frequency", "persona_popular", "als", "bpr",
                           "item_knn", "ease", "hybrid")
BASELINE = "popular"
COHORTS: tuple[str, ...] = ("with_history", "new")
Progress = Callable[[str], None]


class RealDataBenchError(ValueError):
    """The benchmark cannot run as asked (too few windows or weeks, no baseline, no history before a cut)."""


def window_ends(dataset: Dataset, windows: int, weeks: int) -> list[pd.Timestamp]:
    """The end of each window, oldest first; the last is the end of the data (midnight after its last day)."""
    if windows < 1 or weeks < 1:
        raise RealDataBenchError(f"need --windows ≥ 1 and --weeks ≥ 1, got {windows} and {weeks}")
    end = time_split(dataset, test_weeks=weeks, validation_weeks=0).end
    return [end - pd.Timedelta(weeks=weeks * back) for back in range(windows - 1, -1, -1)]


def _fit(name: str, config: TrainConfig, history: Dataset, cut: pd.Timestamp) -> Recommender:
    if name == "hybrid":
        return HybridRecommender(config.hybrid).fit(history, cut)
    return make_recommender(name, config.hybrid.generators.get(name, {})).fit(history, cut)


def score_window(dataset: Dataset, end: pd.Timestamp, weeks: int, config: TrainConfig, models: Sequence[str],
                 progress: Progress | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Fit every model before the window ``[end − weeks, end)`` and score it there.

    Returns
    -------
    tuple
        Per-resident NDCG@k (rows: residents with a relevant event; columns: ``models``, ``cohort``) and a
        summary of the window (bounds, resident counts, seconds per model, the recency ``popular`` chose).
    """
    say = progress or (lambda _label: None)
    data = dataset.until(end)
    split = time_split(data, test_weeks=weeks, validation_weeks=0, end=end)
    cut = split.train_until
    scored = EvaluationWindow.build(data, split, config.k, config.seed)
    new = scored.cold_start
    frame = pd.DataFrame(index=pd.Index(scored.residents, name=C.RESIDENT))
    frame["cohort"] = np.where(frame.index.isin(new), "new", "with_history")
    info: dict[str, Any] = {"cut": str(cut.date()), "end": str(end.date()), "residents": len(frame),
                            "with_history": int((frame["cohort"] == "with_history").sum()),
                            "new": int((frame["cohort"] == "new").sum()), "seconds": {}}
    for name in models:
        say(f"window {info['cut']}: {name}")
        started = time.perf_counter()
        model = _fit(name, config, data, cut)
        lists = model.recommend(scored.residents, config.k)
        per_resident = per_resident_metrics(lists, scored.truth, config.k)["ndcg"]
        frame[name] = per_resident.reindex(frame.index).fillna(0.0).to_numpy()
        info["seconds"][name] = round(time.perf_counter() - started, 2)
        info.setdefault(f"ndcg@{config.k}", {})[name] = round(float(frame[name].mean()), 4)
        if isinstance(model, PopularRecommender):
            info["popular_recency"] = model.recency_.label()
    return frame, info


def summarise(frames: list[pd.DataFrame], models: Sequence[str], k: int, seed: int) -> dict[str, Any]:
    """Pooled NDCG@k per model, per cohort, and each model's paired bootstrap ratio to :data:`BASELINE`."""
    pooled = pd.concat([f.assign(window=i) for i, f in enumerate(frames)], ignore_index=True)
    key = f"ndcg@{k}"

    def table(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in models:
            entry: dict[str, Any] = {key: round(float(rows[name].mean()), 4) if len(rows) else float("nan"),
                                     "residents": len(rows)}
            if len(rows):
                interval = paired_ratio_interval(rows[name].to_numpy(), rows[BASELINE].to_numpy(), seed=seed,
                                                 strata=rows["window"].to_numpy())
                entry["ratio_to_popular"] = interval.to_dict()
            out[name] = entry
        return out

    overall = table(pooled)
    return {"models": {name: {key: m[key], "residents": m["residents"]} for name, m in overall.items()},
            "cohorts": {cohort: table(pooled[pooled["cohort"] == cohort]) for cohort in COHORTS},
            "ratio_to_popular": {name: m["ratio_to_popular"] for name, m in overall.items()}}


def run(dataset: Dataset, *, windows: int = 4, weeks: int = 4, config: TrainConfig | None = None,
        models: Sequence[str] = MODELS, data_name: str = "ml-100k", validation: int = 0,
        tracking_uri: str | None = None, artifact_location: str | None = None,
        progress: Progress | None = None) -> dict[str, Any]:
    """The whole benchmark: every window, pooled figures, intervals, one MLflow run when a URI is given.

    Parameters
    ----------
    dataset : Dataset
        Interactions with timestamps (e.g. :func:`features.sources.movielens.load_movielens_100k`).
    windows, weeks : int
        Number of consecutive held-out windows and their length.
    config : TrainConfig, optional
        Training configuration (default: ``linli train``'s default config).
    models : sequence of str
        Models to score; ``popular`` must be among them (the ratios' baseline). Names not registered are
        reported under ``missing``.
    validation : int
        When > 0, score that many windows of ``weeks`` weeks that end where the ``windows`` test windows begin,
        with every event from the test windows' start on removed first: for choosing a configuration without
        reading the test windows.

    Raises
    ------
    RealDataBenchError
        Bad window settings, no ``popular``, or a window without history before it.
    """
    started = time.perf_counter()
    config = config or TrainConfig.from_toml()
    if BASELINE not in models:
        raise RealDataBenchError(f"models must include {BASELINE!r} (the ratios' baseline), got {list(models)}")
    present = [m for m in models if m == "hybrid" or m in RECOMMENDERS]
    missing = [m for m in models if m not in present]
    scored_window = "test"
    if validation > 0:
        test_start = window_ends(dataset, windows, weeks)[0] - pd.Timedelta(weeks=weeks)
        dataset, windows, scored_window = dataset.until(test_start), validation, "validation"
    ends = window_ends(dataset, windows, weeks)
    if ends[0] - pd.Timedelta(weeks=weeks) <= dataset.interactions[C.TIMESTAMP].min():
        raise RealDataBenchError(f"{windows} windows of {weeks} weeks reach back before the first event; "
                                 "choose fewer or shorter windows")
    frames, infos = [], []
    for end in ends:
        frame, info = score_window(dataset, end, weeks, config, present, progress)
        frames.append(frame)
        infos.append(info)
    result: dict[str, Any] = {
        "data": data_name, "scored": scored_window, "windows": infos, "weeks": weeks, "k": config.k,
        "relevance": "book, use or rating > 2",
        **summarise(frames, present, config.k, config.seed), "missing": missing,
        "cores": os.cpu_count(), "wall_seconds": round(time.perf_counter() - started, 1)}
    hybrid = {c: result["cohorts"][c].get("hybrid", {}).get("ratio_to_popular", {}).get("ratio") for c in COHORTS}
    result["targets"] = {"with_history": {"ratio": hybrid["with_history"], "target": 1.10},
                         "all": {"ratio": result["ratio_to_popular"].get("hybrid", {}).get("ratio"), "target": 1.03},
                         "new": {"ratio": hybrid["new"], "target": 1.00}}
    if tracking_uri:
        result["mlflow_run_id"] = log_run(result, tracking_uri, artifact_location)
    return result


def log_run(result: dict[str, Any], tracking_uri: str, artifact_location: str | None = None) -> str:
    """Log the benchmark as one MLflow run: pooled and cohort figures as metrics, the JSON as an artifact."""
    connect(tracking_uri, artifact_location)
    with mlflow.start_run(run_name="realdata-bench") as active:
        mlflow.log_params({"benchmark": "realdata", "data": result["data"], "scored": result["scored"],
                           "windows": len(result["windows"]),
                           "weeks": result["weeks"], "k": result["k"],
                           "cuts": ",".join(w["cut"] for w in result["windows"])})
        mlflow.log_metrics(flat_metrics(result["models"]))
        mlflow.log_metrics(flat_metrics(result["cohorts"], "cohort."))
        mlflow.log_metrics(flat_metrics(result["ratio_to_popular"], "ratio_to_popular."))
        mlflow.log_metric("wall_seconds", result["wall_seconds"])
        mlflow.log_dict(result, "realdata_bench.json")
        return active.info.run_id
