"""Experiments as MLflow runs: variants (training configs) × seeds, each a child run of one parent run.

A *variant* is a :class:`~training.config.TrainConfig` (a TOML file listing what differs from the defaults).
A *seed* is a community: a synthetic one generated with that seed, or — with a data source — the same data with
every model seed set to it. Each (variant, seed) is fitted and scored on the **validation window**: the data are
cut at the start of the test window before anything reads them, and the last ``test_weeks`` before that cut are
scored. The test window is read only when asked (``window="test"``), to report figures after a choice is made.

:func:`compare_experiment` turns a parent run's children into a table: per variant the mean over seeds with a
95 % t-interval, and its paired difference to the first variant (same seeds) with its interval.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import mlflow
import numpy as np
from mlflow import MlflowClient
from scipy import stats

from features.dataset import Dataset
from recommenders.base import Recommender
from recommenders.hybrid import HybridRecommender
from recommenders.registry import make_recommender
from training.config import TrainConfig
from training.evaluation import EvaluationWindow
from training.splits import time_split
from training.tracking import connect, flat_metrics, metric_key

Window = Literal["validation", "test"]
KIND_TAG, VARIANT_TAG, SEED_TAG = "linli.kind", "linli.variant", "linli.seed"


class ExperimentError(ValueError):
    """An experiment cannot run or be compared as asked (no variants, unknown run, missing metric)."""


@dataclass(frozen=True)
class ExperimentData:
    """Where each seed's dataset comes from.

    Attributes
    ----------
    source : str, optional
        A folder or database URL for :func:`features.sources.load`: the same data for every seed. ``None``:
        a synthetic community generated per seed.
    residents : int
        Size of the synthetic communities.
    """

    source: str | None = None
    residents: int = 20_000

    def dataset(self, seed: int) -> Dataset:
        """The dataset of ``seed`` (loaded or generated once per process)."""
        return _dataset(self.source, self.residents, seed if self.source is None else 0)


@cache
def _dataset(source: str | None, residents: int, seed: int) -> Dataset:
    if source is not None:
        from features.sources import load

        return load(source)
    from features.sources.synthetic import generate_community

    return generate_community(residents=residents, seed=seed).dataset()


def scoring_window(dataset: Dataset, config: TrainConfig, window: Window = "validation"
                   ) -> tuple[Dataset, EvaluationWindow]:
    """The history models may learn from and the window they are scored on.

    With ``window="validation"`` the data are cut at the test window's start first, so the test weeks cannot
    reach a fit, a feature or a label; the scored window is the ``test_weeks`` before that cut.
    """
    if window not in ("validation", "test"):
        raise ExperimentError(f"window must be 'validation' or 'test', got {window!r}")
    history = dataset
    if window == "validation":
        outer = time_split(dataset, test_weeks=config.test_weeks, validation_weeks=config.test_weeks)
        history = dataset.until(outer.test_start)
        split = time_split(history, test_weeks=config.test_weeks, validation_weeks=0, end=outer.test_start)
    else:
        split = time_split(dataset, test_weeks=config.test_weeks, validation_weeks=0)
    return history, EvaluationWindow.build(history, split, config.k, config.seed)


def score_config(config: TrainConfig, dataset: Dataset, window: Window = "validation",
                 models: Sequence[str] = ("hybrid",)) -> dict[str, dict[str, Any]]:
    """Fit ``models`` (``hybrid`` and/or single model names) as ``config`` says and score them on ``window``."""
    history, scored = scoring_window(dataset, config, window)
    cutoff = scored.split.train_until
    out: dict[str, dict[str, Any]] = {}
    for name in models:
        model: Recommender
        if name == "hybrid":
            model = HybridRecommender(config.hybrid).fit(history, cutoff)
        else:
            model = make_recommender(name, config.hybrid.generators.get(name, {})).fit(history, cutoff)
        metrics = scored.score(model)
        per_persona = [v for v in metrics.get(f"per_persona_ndcg@{config.k}", {}).values() if v == v]
        if per_persona and max(per_persona) > 0:
            metrics["worst_over_best_persona"] = min(per_persona) / max(per_persona)
        out[name] = metrics
    return out


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` did: the parent run and one row per (variant, seed)."""

    parent_run_id: str
    window: Window
    rows: list[dict[str, Any]] = field(default_factory=list)


def run_experiment(variants: Mapping[str, TrainConfig], seeds: Sequence[int], data: ExperimentData, *,
                   tracking_uri: str, artifact_location: str | None = None, window: Window = "validation",
                   models: Sequence[str] = ("hybrid",), progress: Callable[[str], None] | None = None
                   ) -> ExperimentResult:
    """Score every variant on every seed as child runs of one new parent run.

    Raises
    ------
    ExperimentError
        No variants or no seeds.
    """
    if not variants or not seeds:
        raise ExperimentError("an experiment needs at least one variant (config file) and one seed")
    say = progress or (lambda _label: None)
    connect(tracking_uri, artifact_location)
    with mlflow.start_run(run_name="experiment") as parent:
        mlflow.set_tags({KIND_TAG: "experiment", "linli.window": window, "linli.variants": json.dumps(list(variants)),
                         "linli.seeds": ",".join(map(str, seeds)), "linli.data": data.source or "synthetic"})
        result = ExperimentResult(parent.info.run_id, window)
        for name, config in variants.items():
            for seed in seeds:
                say(f"{name} seed {seed}")
                metrics = score_config(config.with_seed(seed), data.dataset(seed), window, models)
                with mlflow.start_run(run_name=f"{name}-seed{seed}", nested=True):
                    mlflow.set_tags({KIND_TAG: "variant", VARIANT_TAG: name, SEED_TAG: str(seed)})
                    mlflow.log_params({k: str(v)[:500] for k, v in _flat(config.model_dump(mode="json")).items()})
                    mlflow.log_metrics(flat_metrics(metrics))
                result.rows.append({"variant": name, "seed": seed, "metrics": metrics})
    return result


@dataclass
class Comparison:
    """Per variant: the metric's mean over seeds with a 95 % interval, and the paired difference to the baseline."""

    parent_run_id: str
    metric: str
    baseline: str
    rows: list[dict[str, Any]]

    def table(self) -> str:
        """A Markdown table of the comparison."""
        lines = [f"| variant | seeds | {self.metric} mean | 95 % interval | − {self.baseline} | 95 % interval |",
                 "|---|---|---|---|---|---|"]
        for row in self.rows:
            low, high = row["interval"]
            d_low, d_high = row["difference_interval"]
            lines.append(f"| {row['variant']} | {row['seeds']} | {row['mean']:.4f} | {low:.4f} – {high:.4f} | "
                         f"{row['difference']:+.4f} | {d_low:+.4f} – {d_high:+.4f} |")
        return "\n".join(lines)


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval of the mean; a single value has a zero-width interval."""
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean())
    if len(array) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + level / 2, len(array) - 1) * array.std(ddof=1) / math.sqrt(len(array)))
    return mean, mean - half, mean + half


def compare_experiment(parent_run_id: str, *, tracking_uri: str, metric: str = "hybrid.ndcg@10") -> Comparison:
    """Compare the variants of an experiment's parent run and log the table (Markdown and JSON) on that run.

    Raises
    ------
    ExperimentError
        The run does not exist, has no variant children, or they lack ``metric``.
    """
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        parent = client.get_run(parent_run_id)
    except mlflow.exceptions.MlflowException as exc:
        raise ExperimentError(f"no MLflow run {parent_run_id!r} in {tracking_uri}") from exc
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'", max_results=10_000)
    key = metric_key(metric)
    values: dict[str, dict[int, float]] = {}
    for child in children:
        if child.data.tags.get(KIND_TAG) != "variant":
            continue
        if key not in child.data.metrics:
            raise ExperimentError(f"run {child.info.run_id} has no metric {metric!r} "
                                  f"(it has {sorted(child.data.metrics)[:8]}…)")
        variant, seed = child.data.tags[VARIANT_TAG], int(child.data.tags[SEED_TAG])
        values.setdefault(variant, {})[seed] = child.data.metrics[key]
    if not values:
        raise ExperimentError(f"run {parent_run_id} has no variant runs: is it an experiment's parent run?")
    order = json.loads(parent.data.tags.get("linli.variants", "[]")) or sorted(values)
    order = [v for v in order if v in values]
    baseline = order[0]
    rows = []
    for variant in order:
        seeds = sorted(values[variant])
        mean, low, high = mean_interval([values[variant][s] for s in seeds])
        paired = [values[variant][s] - values[baseline][s] for s in seeds if s in values[baseline]]
        diff, d_low, d_high = mean_interval(paired) if paired else (math.nan, math.nan, math.nan)
        rows.append({"variant": variant, "seeds": len(seeds), "mean": mean, "interval": [low, high],
                     "difference": diff, "difference_interval": [d_low, d_high],
                     "per_seed": {str(s): values[variant][s] for s in seeds}})
    comparison = Comparison(parent_run_id, metric, baseline, rows)
    client.log_text(parent_run_id, comparison.table(), "comparison.md")
    client.log_dict(parent_run_id, {"metric": metric, "baseline": baseline, "rows": rows}, "comparison.json")
    return comparison


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
