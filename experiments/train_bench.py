"""Benchmark of ``linli train``: quality against the targets and time / peak memory, per community size.

Each size and seed runs in its own process: generate a community, then the whole retrain pipeline
(features → personas → candidates → ranker → evaluation → MLflow run → registered version) into a
throw-away MLflow store. Run: ``linli bench train --sizes 20000,100000``; with ``--seeds 42,1,2,3`` one community
per seed, and the persona floor over them (:mod:`experiments.persona_floor`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.peak_memory import reset_peak, run_sizes, stage
from experiments.persona_floor import PersonaScores, community_floor, strip_replicates, summarise
from experiments.persona_floor import worst_over_best_persona as worst_over_best_persona

if TYPE_CHECKING:  # imported inside the functions: each size runs in a fresh process
    import pandas as pd

    from features.dataset import Dataset
    from features.sources.synthetic import SyntheticCommunity
    from training.config import TrainConfig
    from training.evaluation import EvaluationWindow

SINGLE = ("popular", "persona_popular", "als", "bpr", "item_knn", "ease")


def quality_ratios(metrics: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The issue's quality targets as ratios (hybrid vs popularity, vs best single model, personas, cold start)."""
    ndcg = {name: float(values["ndcg@10"]) for name, values in metrics.items()}
    best_single = max((n for n in ndcg if n in SINGLE), key=ndcg.__getitem__)
    return {
        "hybrid_over_popular": ndcg["hybrid"] / ndcg["popular"],
        "hybrid_over_best_single": ndcg["hybrid"] / ndcg[best_single],
        "best_single_model": best_single,  # type: ignore[dict-item]
        "worst_over_best_persona": worst_over_best_persona(metrics["hybrid"]["per_persona_ndcg@10"]),
        "cold_start_hybrid": float(metrics["hybrid"]["cold_start_ndcg@10"]),
        "cold_start_popular": float(metrics["popular"]["cold_start_ndcg@10"]),
    }


def run_one(residents: int, seed: int, folder: Path) -> dict[str, Any]:
    """Generate and train once in this process; return metrics, ratios, timings and peak memory."""
    from features.sources.synthetic import generate_community
    from training.config import TrainConfig
    from training.retrain import train

    config = TrainConfig().with_seed(seed)
    timings: dict[str, dict[str, float]] = {}
    with stage(timings, "generate"):
        community = generate_community(residents=residents, seed=seed)
        dataset = community.dataset()
    reset_peak()
    started = time.perf_counter()
    with stage(timings, "train"):
        result = train(dataset, tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", model_name="bench",
                       artifact_location=(folder / "artifacts").as_uri(), config=config)
    seconds = round(time.perf_counter() - started, 1)
    window, hybrid_lists, ceiling_lists = evaluated_lists(community, dataset, config)
    floor = community_floor(PersonaScores.from_lists(hybrid_lists, ceiling_lists, window.truth, window.personas,
                                                     window.k), seed)
    return {"residents": residents, "seed": seed, "interactions": len(dataset.interactions),
            "train_seconds": seconds,
            "train_peak_rss_mib": timings["train"]["peak_rss_mib"], "stage_seconds": result.seconds,
            "metrics": {name: {k: v for k, v in m.items() if not isinstance(v, dict)}
                        for name, m in result.metrics.items()},
            "per_persona_ndcg@10": result.to_json()["per_persona_ndcg@10"],
            "ratios": quality_ratios(result.metrics),
            "true_preferences": true_preference_ceiling(window, ceiling_lists),
            "persona_floor": floor}


def evaluated_lists(community: SyntheticCommunity, dataset: Dataset, config: TrainConfig
                    ) -> tuple[EvaluationWindow, pd.DataFrame, pd.DataFrame]:
    """The benchmark's test window, the hybrid's lists on it and the true-preference ranking's.

    ``train`` refits its hybrid on all weeks before returning it, so the hybrid is fitted again here on the
    weeks before the window with the same config and seed (the fit is deterministic: the per-persona figures
    equal those ``train`` reports).
    """
    from experiments.true_preference_ranking import TruePreferenceRanking
    from recommenders.hybrid import HybridRecommender
    from training.evaluation import EvaluationWindow
    from training.splits import time_split

    split = time_split(dataset, test_weeks=config.test_weeks, validation_weeks=0)
    window = EvaluationWindow.build(dataset, split, config.k, config.seed)
    hybrid = HybridRecommender(config.hybrid).fit(dataset, split.train_until)
    return (window, hybrid.recommend(window.residents, window.k),
            TruePreferenceRanking(community, split.test_start).recommend(window.residents, window.k))


def true_preference_ceiling(window: EvaluationWindow, ceiling_lists: pd.DataFrame) -> dict[str, Any]:
    """NDCG@k of ranking by the generator's true scores on the benchmark's test window, overall and per persona,
    and its worst / best persona ratio: what the data permits (see :mod:`experiments.true_preference_ranking`)."""
    metrics = window.score_lists(ceiling_lists)
    per_persona = metrics["per_persona_ndcg@10"]
    personas = {str(p): round(float(v), 4) for p, v in per_persona.items() if v == v}
    return {"ndcg@10": round(float(metrics["ndcg@10"]), 4), "per_persona_ndcg@10": personas,
            "worst_over_best_persona": round(worst_over_best_persona(per_persona), 4)}


def run(sizes: list[int], seed: int = 42, seeds: list[int] | None = None) -> dict[str, Any]:
    """:func:`run_one` per size and seed (one community each), each in a fresh subprocess, and the persona floor
    over the seeds' communities per size (:func:`experiments.persona_floor.summarise`).

    ``seeds`` defaults to ``[seed]``. The top-level ``worst_over_best_mean``, ``worst_over_best_interval`` and
    ``persona_over_ceiling_mean`` are those of the first size; ``persona_floor`` holds every size's.
    """
    seeds = list(seeds) if seeds else [seed]
    started = time.perf_counter()
    rows = [row for s in seeds for row in run_sizes("experiments.train_bench", sizes, s)]
    floors = []
    for size in sizes:
        mine = [row["persona_floor"] for row in rows if row["residents"] == size]
        floors.append({"residents": size, "seeds": seeds, **summarise(mine)})
    for row in rows:
        row["persona_floor"] = strip_replicates(row["persona_floor"])
    first = floors[0]
    return {"benchmark": "train", "cores": os.cpu_count(), "seed": seeds[0], "seeds": seeds,
            "seconds": round(time.perf_counter() - started, 1),
            "worst_over_best_mean": first["worst_over_best_mean"],
            "worst_over_best_interval": first["worst_over_best_interval"],
            "persona_over_ceiling_mean": first["persona_over_ceiling_mean"],
            "persona_floor": floors, "results": rows}


def format_report(report: dict[str, Any]) -> str:
    """Markdown tables: NDCG@10 per model and the target ratios, per size."""
    out = []
    for row in report["results"]:
        r = row["ratios"]
        out.append(f"**{row['residents']:,} residents (seed {row['seed']}), {row['interactions']:,} interactions** "
                   "— train "
                   f"{row['train_seconds']:.0f} s, peak RSS {row['train_peak_rss_mib']:,.0f} MiB")
        out.append("")
        out.append("| model | NDCG@10 | MAP@10 | Recall@10 | coverage | novelty | categories per list "
                   "| cold-start NDCG@10 |")
        out.append("|---|---|---|---|---|---|---|---|")
        for name, m in row["metrics"].items():
            out.append(f"| {name} | {m['ndcg@10']:.4f} | {m['map@10']:.4f} | {m['recall@10']:.4f} | "
                       f"{m['coverage']:.3f} | {m['novelty']:.2f} | {m['category_diversity']:.2f} | "
                       f"{m['cold_start_ndcg@10']:.4f} |")
        out.append("")
        out.append(f"hybrid / popularity {r['hybrid_over_popular']:.2f}× · hybrid / best single "
                   f"({r['best_single_model']}) {r['hybrid_over_best_single']:.3f}× · worst / best persona "
                   f"{r['worst_over_best_persona']:.3f} · cold start hybrid {r['cold_start_hybrid']:.3f} vs "
                   f"popularity {r['cold_start_popular']:.3f}")
        personas = ", ".join(f"{p} {v:.3f}" for p, v in row["per_persona_ndcg@10"].items())
        out.append(f"\nhybrid NDCG@10 per persona: {personas}\n")
        ceiling = row["true_preferences"]
        personas = ", ".join(f"{p} {v:.3f}" for p, v in ceiling["per_persona_ndcg@10"].items())
        out.append(f"ranking by the generator's true preferences (the ceiling): NDCG@10 {ceiling['ndcg@10']:.4f}, "
                   f"worst / best persona {ceiling['worst_over_best_persona']:.3f} ({personas})\n")
        over = ", ".join(f"{p} {v:.3f}" for p, v in row["persona_floor"]["persona_over_ceiling"].items())
        out.append(f"hybrid / ceiling per persona: {over}\n")
    for floor in report["persona_floor"]:
        out.append(format_floor(floor))
    return "\n".join(out)


def format_floor(floor: dict[str, Any]) -> str:
    """The persona floor over one size's communities, as a Markdown paragraph and table."""
    low, high = floor["worst_over_best_interval"]
    each = ", ".join(f"{s}: {v:.3f}" for s, v in zip(floor["seeds"], floor["worst_over_best_per_community"],
                                                      strict=True))
    out = [f"**Persona floor, {floor['residents']:,} residents, {floor['communities']} communities** — worst / best "
           f"persona NDCG@10, mean {floor['worst_over_best_mean']:.3f} [{low:.3f}, {high:.3f}] (per community "
           f"{each}; {floor['interval']})", "", "| persona | NDCG@10 / true-preference ceiling (mean) | interval |",
           "|---|---|---|"]
    for persona, value in floor["persona_over_ceiling_mean"].items():
        low, high = floor["persona_over_ceiling_interval"][persona]
        out.append(f"| {persona} | {value:.3f} | [{low:.3f}, {high:.3f}] |")
    return "\n".join(out) + "\n"
