"""What differential privacy costs the planner tables: error, rank changes and suppression per ε and level.

On a generated community (default 20,000 residents, seed 42: 17 communities, 5 streets, 2 districts, 6 months),
the exact tables and the private ones (:mod:`privacy.dp`) are built for each ε, ``--repeats`` times with a
different data version each (fresh noise), and compared cell by cell at each level, before suppression
(k = 0): mean absolute error, relative error (Σ|noisy − true| / Σ true) and the share of cells whose rank among
their siblings changes (a unit's personas in ``segments``; a unit and persona's categories by users in
``usage``; a unit's months by active residents in ``monthly``). The share of count cells suppressed at k = 10
is given for the private tables and, for comparison, the exact ones.

    python -m experiments.dp_planner_bench [--residents 20000] [--seed 42] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from features.sources.synthetic import generate_community
from privacy.dp import PlannerDp
from profiling import ReportConfig, build_reports, profile_dataset
from profiling.reports import SegmentReport

EPSILONS = (0.1, 0.5, 1.0, 2.0, 5.0)
LEVELS = ("community", "street", "district")
_KEY = b"dp planner bench key"
_USAGE = ["users", "raters", "demand", "unmet"]


def _cells(report: SegmentReport, table: str, level: str) -> pd.DataFrame:
    """Long ``group, item, value`` rows of one table and level (``group``: the siblings ranked together)."""
    if table == "segments":
        frame = report.level(level)
        counts = [c for c in frame.columns if c == "residents" or c.startswith(("persona_", "segment_"))]
        long = frame[counts].reset_index(names="unit").melt(id_vars="unit", var_name="item")
        long["group"] = long["unit"].astype(str) + "|" + long["item"].str.split("_").str[0]
        long["item"] = long["unit"].astype(str) + "|" + long["item"]
    elif table == "usage":
        frame = report.usage[report.usage["level"] == level]
        long = frame[["unit_id", "persona", "category", *_USAGE]].melt(
            id_vars=["unit_id", "persona", "category"], var_name="measure"
        )
        long["group"] = long["unit_id"] + "|" + long["persona"] + "|" + long["measure"]
        long["item"] = long["group"] + "|" + long["category"]
    else:
        frame = report.monthly[report.monthly["level"] == level]
        counts = [c for c in frame.columns if c == "active" or c.startswith("persona_")]
        long = frame[["unit_id", "month", *counts]].melt(id_vars=["unit_id", "month"], var_name="measure")
        long["group"] = long["unit_id"] + "|" + long["measure"]
        long["item"] = long["group"] + "|" + long["month"]
    return long[["group", "item", "value"]]


def _compare(exact: SegmentReport, noisy: SegmentReport, table: str, level: str) -> dict[str, float]:
    truth = _cells(exact, table, level).set_index("item")
    released = _cells(noisy, table, level).set_index("item")
    both = released.join(truth["value"].rename("true"), how="left")
    both["true"] = pd.to_numeric(both["true"], errors="coerce").fillna(0.0)  # absent rows: true zeros
    both["value"] = pd.to_numeric(both["value"]).astype(float)
    error = (both["value"] - both["true"]).abs()
    rank_true = both.groupby("group")["true"].rank(method="min")
    rank_noisy = both.groupby("group")["value"].rank(method="min")
    return {
        "mae": float(error.mean()),
        "relative": float(error.sum() / max(both["true"].sum(), 1.0)),
        "rank_changed": float((rank_true != rank_noisy).mean()),
        "cells": len(both),
    }


def _suppressed(report: SegmentReport, table: str, level: str) -> float:
    values = _cells(report, table, level)["value"]
    return float(values.isna().mean())


def run(
    residents: int = 20_000, seed: int = 42, repeats: int = 3, epsilons: tuple[float, ...] = EPSILONS
) -> dict[str, Any]:
    """Exact vs private planner tables for each ε (see the module docstring); a JSON-ready report."""
    started = time.perf_counter()
    dataset = generate_community(residents=residents, seed=seed).dataset()
    profile = profile_dataset(dataset, seed=seed)
    counted, tags, segments = dataset.until(profile.cutoff), profile.personas.tags, profile.segments
    open_cfg = ReportConfig.model_construct(k=0, top_categories=3)  # k = 0: nothing hidden, every cell compared
    k_cfg = ReportConfig(k=10)
    exact = build_reports(counted, tags, segments, open_cfg)
    exact_k = build_reports(counted, tags, segments, k_cfg)
    rows: list[dict[str, Any]] = []
    scales: dict[str, dict[str, float]] = {}
    for epsilon in epsilons:
        runs: dict[tuple[str, str], list[dict[str, float]]] = {}
        for repeat in range(repeats):
            dp = PlannerDp(epsilon, _KEY, f"bench-{seed}-{repeat}")
            noisy = build_reports(counted, tags, segments, open_cfg, dp=dp)
            noisy_k = build_reports(counted, tags, segments, k_cfg, dp=dp)  # same version: the same noise
            scales[str(epsilon)] = {t: v["scale"] for t, v in noisy.privacy["tables"].items()}  # type: ignore[index]
            for table in ("segments", "usage", "monthly"):
                for level in LEVELS:
                    result = _compare(exact, noisy, table, level)
                    result["suppressed"] = _suppressed(noisy_k, table, level)
                    runs.setdefault((table, level), []).append(result)
        for (table, level), results in runs.items():
            rows.append(
                {
                    "epsilon": epsilon,
                    "table": table,
                    "level": level,
                    **{
                        m: float(np.mean([r[m] for r in results]))
                        for m in ("mae", "relative", "rank_changed", "suppressed")
                    },
                    "cells": int(results[0]["cells"]),
                    "exact_suppressed": _suppressed(exact_k, table, level),
                }
            )
    return {
        "residents": residents,
        "seed": seed,
        "repeats": repeats,
        "cores": os.cpu_count(),
        "communities": int(counted.communities["community_id"].nunique()),
        "scales": scales,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    lines = [
        "| ε | table | level | cells | MAE | relative error | rank changed | suppressed (k=10) | exact suppressed |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['epsilon']:g} | {r['table']} | {r['level']} | {r['cells']} | {r['mae']:.1f} | "
            f"{r['relative']:.1%} | {r['rank_changed']:.1%} | {r['suppressed']:.1%} | "
            f"{r['exact_suppressed']:.1%} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Command line: ``python -m experiments.dp_planner_bench``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    report = run(args.residents, args.seed, args.repeats)
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"{report['residents']:,} residents, {report['communities']} communities, seed {report['seed']}, "
            f"{report['repeats']} repeats, {report['cores']} cores, {report['seconds']} s"
        )
        print(format_table(report))


if __name__ == "__main__":
    main()
