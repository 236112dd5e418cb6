"""How calibration does over several random draws of labels: ``python -m profiling.calibration_draws DIR N DRAWS``.

``DIR`` is a generated community (with ``ground_truth.parquet``). Each draw samples ``N`` residents (seeds
100, 101, ...), calibrates on their true labels and tags every resident with the calibrated thresholds.
Prints one line per draw and the mean, standard deviation and minimum of the macro F1 before (shipped),
after (cross-validated), ceiling (LightGBM, cross-validated) and on all residents.
"""

from __future__ import annotations

import sys

import numpy as np

from features.sources import load
from features.sources.synthetic import read_ground_truth
from profiling.calibrate import calibrate
from profiling.features import profiling_features
from profiling.recovery import persona_f1, truth_personas
from profiling.rules import PersonaRules


def draws(folder: str, labels: int, count: int) -> np.ndarray:
    """Rows of (before, after, ceiling, all residents) macro F1, one per draw."""
    dataset = load(folder)
    features = profiling_features(dataset, dataset.history_end())
    ground = read_ground_truth(folder)
    if ground is None:
        raise SystemExit(f"{folder}: no ground_truth.parquet; generate the community with `linli generate`")
    truth = truth_personas(ground, features.index)
    rows = []
    for draw in range(count):
        sample = truth.iloc[np.random.default_rng(100 + draw).choice(len(truth), labels, replace=False)]
        result = calibrate(features, sample, seed=draw, bootstrap=200)
        everyone = persona_f1(PersonaRules(result.config).tag(features).tags, truth)
        macro = result.macro()
        rows.append((macro["before"], macro["after"], macro["ceiling"], float(np.mean(list(everyone.values())))))
        print(draw, {k: round(v, 3) for k, v in macro.items()}, "all residents", round(rows[-1][3], 3),
              {k: round(v, 3) for k, v in everyone.items()}, result.changed, flush=True)
    return np.array(rows)


if __name__ == "__main__":
    table = draws(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    for name, column in zip(("before", "after", "ceiling", "all residents"), table.T, strict=True):
        print(f"{name:14} mean {column.mean():.4f} sd {column.std():.4f} min {column.min():.4f}")
