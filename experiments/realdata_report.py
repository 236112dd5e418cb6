"""Text report of ``linli bench realdata``: every model side by side, pooled and per cohort, with ratios."""

from __future__ import annotations

import math
from typing import Any

from experiments.realdata_bench import COHORTS


def _ratio(entry: dict[str, Any]) -> str:
    interval = entry.get("ratio_to_popular")
    if not interval or not math.isfinite(interval["ratio"]):
        return "–"
    return f"{interval['ratio']:.3f} ({interval['low']:.3f}–{interval['high']:.3f})"


def format_report(result: dict[str, Any]) -> str:
    """A Markdown report: windows, then one row per model with pooled and per-cohort NDCG@k and ratios.

    Parameters
    ----------
    result : dict
        What :func:`experiments.realdata_bench.run` returned.
    """
    key = f"ndcg@{result['k']}"
    windows = result["windows"]
    lines = [f"**{result['data']}**, {len(windows)} windows of {result['weeks']} weeks, relevance: "
             f"{result['relevance']}; {result['cores']} cores, {result['wall_seconds']:.0f} s in all", "",
             "| cut | end | residents | with history | new | popular's recency |", "|---|---|---|---|---|---|"]
    lines += [f"| {w['cut']} | {w['end']} | {w['residents']} | {w['with_history']} | {w['new']} | "
              f"{w.get('popular_recency', '–')} |" for w in windows]
    header = f"| model | {key} all | ÷ popular (95 % CI) |"
    rule = "|---|---|---|"
    for cohort in COHORTS:
        header += f" {key} {cohort} | ÷ popular (95 % CI) |"
        rule += "---|---|"
    lines += ["", header, rule]
    for name, values in result["models"].items():
        row = f"| {name} | {values[key]:.4f} | {_ratio({'ratio_to_popular': result['ratio_to_popular'][name]})} |"
        for cohort in COHORTS:
            entry = result["cohorts"][cohort][name]
            row += f" {entry[key]:.4f} | {_ratio(entry)} |"
        lines.append(row)
    residents = {c: next(iter(result["cohorts"][c].values()))["residents"] for c in COHORTS}
    lines += ["", "Residents scored (pooled over windows): " + ", ".join(f"{c} {n}" for c, n in residents.items())]
    if result.get("missing"):
        lines.append(f"Not registered in this build (left out): {', '.join(result['missing'])}")
    targets = result["targets"]
    lines.append("Targets (hybrid ÷ popular): " + ", ".join(
        f"{name} {t['ratio']:.3f} (≥ {t['target']:.2f})" if t["ratio"] is not None else f"{name} –"
        for name, t in targets.items()))
    return "\n".join(lines)
