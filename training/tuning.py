"""Hyper-parameter search with Optuna on validation windows only, every trial an MLflow child run.

A search space is a TOML file whose tables are dotted paths into :class:`~training.config.TrainConfig`::

    [hybrid.ranker.learning_rate]
    low = 0.02
    high = 0.2
    log = true

    [hybrid.ranker.num_leaves]
    low = 7
    high = 63
    type = "int"

    [hybrid.candidates_per_generator]
    choices = [5, 10, 15]

Each trial samples a point, applies it to the base config and scores the hybrid on every seed's validation
window (:func:`training.experiment.scoring_window`: the test window is cut off before anything reads the data).
The objective is the mean NDCG@k over seeds; Optuna's TPE sampler is seeded, so a search is reproducible.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import optuna
from pydantic import ValidationError

from features.toml_files import read_toml
from training.config import TrainConfig
from training.experiment import KIND_TAG, ExperimentData, ExperimentError, score_config
from training.tracking import connect, flat_metrics, metric_key

_NUMERIC_KEYS = {"low", "high", "log", "step", "type"}


@dataclass(frozen=True)
class Dimension:
    """One searched setting: a dotted config path and its range or choices."""

    path: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    integer: bool = False
    choices: tuple[Any, ...] | None = None

    def sample(self, trial: optuna.Trial) -> Any:
        """Draw this setting's value for ``trial``."""
        if self.choices is not None:
            return trial.suggest_categorical(self.path, list(self.choices))
        assert self.low is not None and self.high is not None
        if self.integer:
            return trial.suggest_int(self.path, int(self.low), int(self.high), log=self.log,
                                     step=int(self.step or 1))
        return trial.suggest_float(self.path, float(self.low), float(self.high), log=self.log, step=self.step)


def read_space(path: str | Path) -> list[Dimension]:
    """Read a search-space TOML file (see the module docstring).

    Raises
    ------
    ExperimentError
        The file cannot be read, is empty, or a dimension is malformed (named by its dotted path).
    """
    raw = read_toml(path, ExperimentError, "search space")
    dimensions = [_dimension(name, spec, path) for name, spec in _leaves(raw)]
    if not dimensions:
        raise ExperimentError(f"search space {path} names no setting; add a table such as [hybrid.ranker.num_leaves]")
    return dimensions


def _leaves(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Mapping[str, Any]]]:
    """Tables that define a dimension (they hold ``choices`` or ``low``/``high``), with their dotted paths."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in table.items():
        if not isinstance(value, Mapping):
            continue
        if "choices" in value or "low" in value or "high" in value:
            found.append((f"{prefix}{key}", value))
        else:
            found += _leaves(value, f"{prefix}{key}.")
    return found


def _dimension(name: str, spec: Mapping[str, Any], path: str | Path) -> Dimension:
    where = f"search space {path}, [{name}]"
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) != {"choices"} or not isinstance(choices, list) or not choices:
            raise ExperimentError(f"{where}: 'choices' must be a non-empty list and stand alone")
        return Dimension(name, choices=tuple(choices))
    unknown = set(spec) - _NUMERIC_KEYS
    if unknown or not {"low", "high"} <= set(spec):
        raise ExperimentError(f"{where}: needs 'low' and 'high' (optional 'log', 'step', 'type'); "
                              f"unknown keys {sorted(unknown)}" if unknown else f"{where}: needs 'low' and 'high'")
    low, high = spec["low"], spec["high"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)) or not low < high:
        raise ExperimentError(f"{where}: 'low' and 'high' must be numbers with low < high, got {low!r}, {high!r}")
    kind = spec.get("type", "int" if isinstance(low, int) and isinstance(high, int) else "float")
    if kind not in ("int", "float"):
        raise ExperimentError(f"{where}: 'type' must be 'int' or 'float', got {kind!r}")
    return Dimension(name, low=low, high=high, log=bool(spec.get("log", False)), step=spec.get("step"),
                     integer=kind == "int")


def apply_params(base: TrainConfig, params: Mapping[str, Any]) -> TrainConfig:
    """``base`` with dotted-path ``params`` set.

    Raises
    ------
    ExperimentError
        A path names no setting of the config, or a value breaks its schema.
    """
    values = copy.deepcopy(base.model_dump(mode="json"))
    for path, value in params.items():
        node = values
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                raise ExperimentError(f"search space path {path!r}: {part!r} is not a table of the training config")
            node = child
        node[leaf] = value
    try:
        return TrainConfig.model_validate(values)
    except ValidationError as exc:
        raise ExperimentError(f"search space point {dict(params)} breaks the training config:\n{exc}") from exc


@dataclass
class TuneResult:
    """The best point found: its parameters, validation score, config and the parent run."""

    parent_run_id: str
    best_params: dict[str, Any]
    best_value: float
    best_config: TrainConfig
    trials: list[dict[str, Any]]


def tune(base: TrainConfig, space: Sequence[Dimension], trials: int, seeds: Sequence[int], data: ExperimentData, *,
         tracking_uri: str, artifact_location: str | None = None,
         progress: Callable[[str], None] | None = None) -> TuneResult:
    """Search ``space`` for ``trials`` trials, maximising mean validation NDCG@k of the hybrid over ``seeds``.

    Raises
    ------
    ExperimentError
        ``trials`` < 1, no seeds, or a space point that breaks the config.
    """
    if trials < 1 or not seeds:
        raise ExperimentError(f"tuning needs at least one trial and one seed, got {trials} trials, seeds {seeds}")
    say = progress or (lambda _label: None)
    metric = f"ndcg@{base.k}"
    connect(tracking_uri, artifact_location)
    sampler = optuna.samplers.TPESampler(seed=base.seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    rows: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        params = {d.path: d.sample(trial) for d in space}
        config = apply_params(base, params)
        say(f"trial {trial.number}: {params}")
        per_seed = {seed: score_config(config.with_seed(seed), data.dataset(seed), "validation")["hybrid"]
                    for seed in seeds}
        value = float(np.mean([m[metric] for m in per_seed.values()]))
        with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True):
            mlflow.set_tags({KIND_TAG: "trial", "linli.trial": str(trial.number)})
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            mlflow.log_metrics(flat_metrics({"validation": {metric: value},
                                             "seed": {str(s): {metric: m[metric]} for s, m in per_seed.items()}}))
        rows.append({"trial": trial.number, "params": params, metric: value})
        return value

    with mlflow.start_run(run_name="tune") as parent:
        mlflow.set_tags({KIND_TAG: "tune", "linli.window": "validation", "linli.seeds": ",".join(map(str, seeds)),
                         "linli.data": data.source or "synthetic"})
        study.optimize(objective, n_trials=trials)
        best = apply_params(base, study.best_params)
        mlflow.log_params({f"best.{k}": str(v) for k, v in study.best_params.items()})
        mlflow.log_metric(metric_key(f"best_validation_{metric}"), study.best_value)
        mlflow.log_dict(best.model_dump(mode="json"), "best_config.json")
    return TuneResult(parent.info.run_id, dict(study.best_params), float(study.best_value), best, rows)
