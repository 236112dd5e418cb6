"""Benchmark of ``linli train``: quality against the targets and time / peak memory, per community size.

Each size runs in its own process: generate a community, then the whole retrain pipeline
(features → personas → candidates → ranker → evaluation → MLflow run → registered version) into a
throw-away MLflow store. Run: ``linli bench train --sizes 20000,100000``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.peak_memory import reset_peak, run_sizes, stage

if TYPE_CHECKING:  # imported inside the functions: each size runs in a fresh process
    from features.dataset import Dataset
    from features.sources.synthetic import SyntheticCommunity
    from training.config import TrainConfig

SINGLE = ("popular", "persona_popular", "als", "bpr", "item_knn", "ease")


def worst_over_best_persona(per_persona: dict[str, float]) -> float:
    """NDCG of the worst persona over the best one's (personas without test residents, NaN, are left out)."""
    scored = [float(v) for v in per_persona.values() if v == v]
    return min(scored) / max(scored)


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
    return {"residents": residents, "interactions": len(dataset.interactions),
            "train_seconds": seconds,
            "train_peak_rss_mib": timings["train"]["peak_rss_mib"], "stage_seconds": result.seconds,
            "metrics": {name: {k: v for k, v in m.items() if not isinstance(v, dict)}
                        for name, m in result.metrics.items()},
            "per_persona_ndcg@10": result.to_json()["per_persona_ndcg@10"],
            "ratios": quality_ratios(result.metrics),
            "true_preferences": true_preference_ceiling(community, dataset, config)}


def true_preference_ceiling(community: SyntheticCommunity, dataset: Dataset, config: TrainConfig
                            ) -> dict[str, Any]:
    """NDCG@k of ranking by the generator's true scores on the benchmark's test window, overall and per persona,
    and its worst / best persona ratio: what the data permits (see :mod:`experiments.true_preference_ranking`)."""
    from experiments.true_preference_ranking import TruePreferenceRanking
    from training.evaluation import EvaluationWindow
    from training.splits import time_split

    split = time_split(dataset, test_weeks=config.test_weeks, validation_weeks=0)
    window = EvaluationWindow.build(dataset, split, config.k, config.seed)
    metrics = window.score(TruePreferenceRanking(community, split.test_start))
    per_persona = metrics["per_persona_ndcg@10"]
    personas = {str(p): round(float(v), 4) for p, v in per_persona.items() if v == v}
    return {"ndcg@10": round(float(metrics["ndcg@10"]), 4), "per_persona_ndcg@10": personas,
            "worst_over_best_persona": round(worst_over_best_persona(per_persona), 4)}


def run(sizes: list[int], seed: int = 42) -> dict[str, Any]:
    """:func:`run_one` per size, each in a fresh subprocess."""
    rows = run_sizes("experiments.train_bench", sizes, seed)
    return {"benchmark": "train", "cores": os.cpu_count(), "seed": seed, "results": rows}


def format_report(report: dict[str, Any]) -> str:
    """Markdown tables: NDCG@10 per model and the target ratios, per size."""
    out = []
    for row in report["results"]:
        r = row["ratios"]
        out.append(f"**{row['residents']:,} residents, {row['interactions']:,} interactions** — train "
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
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """``--one N`` trains one size in-process and prints one JSON line; otherwise a report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", type=int)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--sizes", default="20000")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.seed, args.folder), default=str))
        return
    print(format_report(run([int(s) for s in args.sizes.split(",")], args.seed)))


if __name__ == "__main__":
    main()
