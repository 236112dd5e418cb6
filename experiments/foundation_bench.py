"""Benchmark of the foundation: generate → load + validate → features → personas, per community size.

Each size runs in its own Python process, so peak memory is that size's alone.
Run: ``linli bench foundation --sizes 10000,100000,1000000``.
"""

from __future__ import annotations

import os
from pathlib import Path

from experiments.peak_memory import run_sizes, stage

STAGES = ("generate", "write_parquet", "load_validate", "features", "personas")


def run_one(residents: int, seed: int, folder: Path) -> dict[str, object]:
    """Run every stage once for one size in this process; return timings, peak memory and counts."""
    from features.columns import Columns
    from features.pipeline import FeaturePipeline
    from features.sources import load_folder
    from features.sources.synthetic import generate_community
    from profiling.profile import default_cutoff, profile_features

    results: dict[str, dict[str, float]] = {}
    with stage(results, "generate"):
        community = generate_community(residents=residents, seed=seed)
    with stage(results, "write_parquet"):
        community.write(folder)
    n_events = len(community.frames["interactions"])
    del community
    with stage(results, "load_validate"):
        dataset = load_folder(folder)
    cutoff = default_cutoff(dataset)
    with stage(results, "features"):
        features = FeaturePipeline().fit(dataset, cutoff).resident_features(dataset.residents[Columns.RESIDENT])
    with stage(results, "personas"):
        profile = profile_features(dataset, features, cutoff=cutoff, seed=seed)
    total = sum(r["seconds"] for r in results.values())
    return {"residents": residents, "interactions": n_events, "segments": int(profile.segment_model.n_segments_),
            "stages": results, "total_seconds": round(total, 2),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in results.values())}


def run(sizes: list[int], seed: int = 42) -> dict[str, object]:
    """Run :func:`run_one` for each size in a fresh subprocess; return all results with the machine's facts."""
    rows = run_sizes("experiments.foundation_bench", sizes, seed)
    return {"benchmark": "foundation", "cores": os.cpu_count(), "seed": seed, "results": rows}


def format_table(report: dict[str, object]) -> str:
    """A Markdown table of a :func:`run` report (seconds per stage, total, peak RSS)."""
    head = "| residents | interactions | " + " | ".join(STAGES) + " | total s | peak RSS MiB |"
    lines = [head, "|" + "---|" * (len(STAGES) + 4)]
    rows = report["results"]
    if not isinstance(rows, list):
        raise TypeError(f"report['results'] is not a list: {rows!r}")
    for row in rows:
        cells = [f"{row['residents']:,}", f"{row['interactions']:,}"]
        cells += [f"{row['stages'][s]['seconds']:.1f}" for s in STAGES]
        cells += [f"{row['total_seconds']:.1f}", f"{row['peak_rss_mib']:,.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
