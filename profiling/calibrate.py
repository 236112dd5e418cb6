"""Calibrate the persona rules to a community's own definitions from a few hundred labelled residents.

The rules keep their shape (every tag keeps its reason in words); only their thresholds move. For each
persona, a coordinate search over :data:`SEARCH_SPACE` picks the thresholds with the best F1 on the labels
(ties keep the current value). The F1 reported as ``after`` is cross-validated: each fold is tagged with
thresholds fitted on the other folds. ``before`` is the F1 of the thresholds given, ``ceiling`` that of a
fully supervised LightGBM per persona, cross-validated on the same labels and features: what the features
allow. Each comes with a bootstrap interval over the labelled residents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from features.columns import Vocab
from profiling.config import PersonaRulesConfig
from profiling.rules import tag_persona

#: Thresholds the calibration may move, per persona: (key, candidate values).
SEARCH_SPACE: dict[str, list[tuple[str, list[Any]]]] = {
    "elderly": [("min_age", [50, 55, 58, 60, 62, 65, 70]),
                ("min_share_elderly_care", [0.05, 0.1, 0.2, 0.3, 0.5]),
                ("retired_when_age_unknown", [True, False])],
    "family_with_children": [("min_children", [1, 2, 3]),
                             ("min_share_childcare", [0.05, 0.1, 0.15, 0.25, 0.4])],
    "commuter": [("max_weekday_work_hours_share", [1.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4]),
                 ("min_weekday_peak_share", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
                 ("min_weekday_morning_share", [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]),
                 ("inactive_employed", [False, True]),
                 ("peak_share_alone", [0.6, 0.7, 0.85, 0.95, 1.0])],
    "migrant": [("max_months_resident", [0, 3, 6, 11, 12, 18, 24, 36, 48, 60]),
                ("short_stay_when_registered", [True, False])],
    "accessibility_needs": [("min_share_accessibility", [0.1, 0.15, 0.25, 0.35, 0.5])],
    "student": [("min_share_youth_study", [0.15, 0.2, 0.3, 0.4, 0.5]),
                ("ages", [(15, 25), (15, 22), (16, 30), (12, 25)])],
    "job_seeker": [("max_age", [45, 50, 55, 60, 65]),
                   ("min_share_employment", [0.2, 0.3, 0.45, 0.6]),
                   ("min_share_employment_when_unemployed", [0.0, 0.05, 0.1, 0.2, 0.3, 0.45]),
                   ("inactive_unemployed", [True, False])],
}
_SWEEPS = 2


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    config : PersonaRulesConfig
        The calibrated thresholds, fitted on all labels.
    before, after, ceiling : dict of str to float
        F1 per persona: the given thresholds, the calibrated ones (cross-validated), LightGBM (cross-validated).
    intervals : dict
        ``{"before" | "after" | "ceiling": {persona: [low, high]}}``, 95 % bootstrap intervals.
    changed : dict of str to list
        ``"persona.key" -> [old, new]`` for every threshold that moved.
    labels : int
        Number of labelled residents.
    """

    config: PersonaRulesConfig
    before: dict[str, float]
    after: dict[str, float]
    ceiling: dict[str, float]
    intervals: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    changed: dict[str, list[Any]] = field(default_factory=dict)
    labels: int = 0

    def macro(self) -> dict[str, float]:
        """Macro F1 (mean over personas) of ``before``, ``after`` and ``ceiling``."""
        return {name: float(np.mean(list(getattr(self, name).values()))) for name in ("before", "after", "ceiling")}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``labels``, ``before``, ``after``, ``ceiling``, ``macro_f1``, ``intervals``, ``changed``."""
        return {"labels": self.labels, "before": self.before, "after": self.after, "ceiling": self.ceiling,
                "macro_f1": self.macro(), "intervals": self.intervals, "changed": self.changed}


def _f1(pred: np.ndarray, true: np.ndarray) -> float:
    denominator = int(pred.sum()) + int(true.sum())
    return 1.0 if denominator == 0 else 2 * int((pred & true).sum()) / denominator


def _with(config: PersonaRulesConfig, persona: str, key: str, value: Any) -> PersonaRulesConfig:
    rule = getattr(config, persona).model_copy(update={key: value})
    return config.model_copy(update={persona: rule})


def fit_thresholds(features: pd.DataFrame, labels: pd.DataFrame,
                   base: PersonaRulesConfig | None = None) -> PersonaRulesConfig:
    """Thresholds with the best F1 per persona on ``labels`` (coordinate search from ``base``).

    Parameters
    ----------
    features : pandas.DataFrame
        Resident features of the labelled residents (same index as ``labels``).
    labels : pandas.DataFrame
        Boolean resident × persona truth.
    base : PersonaRulesConfig, optional
        Where the search starts; ties keep its values. Default: the shipped thresholds.

    Returns
    -------
    PersonaRulesConfig
    """
    config = base or PersonaRulesConfig()
    for persona, space in SEARCH_SPACE.items():
        truth = labels[persona].to_numpy(dtype=bool)
        best = _f1(tag_persona(features, config, persona), truth)
        for _ in range(_SWEEPS):
            moved = False
            for key, candidates in space:
                for value in candidates:
                    trial = _with(config, persona, key, value)
                    score = _f1(tag_persona(features, trial, persona), truth)
                    if score > best + 1e-12:
                        best, config, moved = score, trial, True
            if not moved:
                break
    return PersonaRulesConfig.model_validate(config.model_dump())


def _folds(n: int, folds: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n) % folds


def _rules_out_of_fold(features: pd.DataFrame, labels: pd.DataFrame, base: PersonaRulesConfig,
                       folds: int, seed: int) -> pd.DataFrame:
    fold = _folds(len(labels), folds, seed)
    out = pd.DataFrame(False, index=labels.index, columns=list(Vocab.PERSONAS))
    for k in range(folds):
        train, test = fold != k, fold == k
        config = fit_thresholds(features[train], labels[train], base)
        for persona in Vocab.PERSONAS:
            out.loc[out.index[test], persona] = tag_persona(features[test], config, persona)
    return out


def _ceiling_out_of_fold(features: pd.DataFrame, labels: pd.DataFrame, folds: int, seed: int) -> pd.DataFrame:
    x = features.to_numpy(dtype=float)
    out = pd.DataFrame(False, index=labels.index, columns=list(Vocab.PERSONAS))
    for persona in Vocab.PERSONAS:
        y = labels[persona].to_numpy(dtype=bool)
        splits = min(folds, int(y.sum()), int((~y).sum()))
        if splits < 2:  # (almost) constant: predict the majority
            out[persona] = bool(y.mean() > 0.5)
            continue
        pred = np.zeros(len(y), dtype=bool)
        for train, test in StratifiedKFold(splits, shuffle=True, random_state=seed).split(x, y):
            model = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=7, min_child_samples=5,
                                       random_state=seed, n_jobs=1, verbose=-1)
            model.fit(x[train], y[train])
            pred[test] = np.asarray(model.predict_proba(x[test]))[:, 1] >= 0.5
        out[persona] = pred
    return out


def bootstrap_f1(predicted: pd.DataFrame, truth: pd.DataFrame, samples: int = 1000,
                 seed: int = 0) -> dict[str, list[float]]:
    """95 % bootstrap interval of each persona's F1, resampling labelled residents with replacement."""
    rows = np.random.default_rng(seed).integers(0, len(truth), (samples, len(truth)))
    out = {}
    for persona in Vocab.PERSONAS:
        pred = predicted[persona].to_numpy(dtype=bool)[rows]
        true = truth[persona].to_numpy(dtype=bool)[rows]
        denominator = pred.sum(axis=1) + true.sum(axis=1)
        f1 = np.where(denominator == 0, 1.0, 2 * (pred & true).sum(axis=1) / np.maximum(denominator, 1))
        low, high = np.percentile(f1, [2.5, 97.5])
        out[persona] = [round(float(low), 4), round(float(high), 4)]
    return out


def calibrate(features: pd.DataFrame, labels: pd.DataFrame, base: PersonaRulesConfig | None = None, *,
              folds: int = 5, seed: int = 0, bootstrap: int = 1000) -> Calibration:
    """Fit the persona thresholds to labels and measure before, after and the supervised ceiling.

    Parameters
    ----------
    features : pandas.DataFrame
        Resident features indexed by resident id (at least the labelled residents).
    labels : pandas.DataFrame
        Boolean resident × persona frame of the labelled residents (see :func:`profiling.labels.read_labels`).
    base : PersonaRulesConfig, optional
        The thresholds in force (``before``), where the search starts. Default: the shipped ones.
    folds : int, default 5
        Cross-validation folds for ``after`` and ``ceiling``.
    seed : int, default 0
        Seed of the folds, LightGBM and the bootstrap.
    bootstrap : int, default 1000
        Bootstrap samples of each interval.

    Returns
    -------
    Calibration
    """
    base = base or PersonaRulesConfig()
    x = features.loc[labels.index]
    before = pd.DataFrame({p: tag_persona(x, base, p) for p in Vocab.PERSONAS}, index=labels.index)
    after = _rules_out_of_fold(x, labels, base, folds, seed)
    ceiling = _ceiling_out_of_fold(x, labels, folds, seed)
    config = fit_thresholds(x, labels, base)
    scores = {name: {p: round(_f1(pred[p].to_numpy(dtype=bool), labels[p].to_numpy(dtype=bool)), 4)
                     for p in Vocab.PERSONAS}
              for name, pred in (("before", before), ("after", after), ("ceiling", ceiling))}
    intervals = {name: bootstrap_f1(pred, labels, bootstrap, seed)
                 for name, pred in (("before", before), ("after", after), ("ceiling", ceiling))}
    return Calibration(config, scores["before"], scores["after"], scores["ceiling"], intervals,
                       _changes(base, config), len(labels))


def _changes(old: PersonaRulesConfig, new: PersonaRulesConfig) -> dict[str, list[Any]]:
    changed = {}
    for persona, space in SEARCH_SPACE.items():
        for key, _ in space:
            was, now = getattr(getattr(old, persona), key), getattr(getattr(new, persona), key)
            if was != now:
                changed[f"{persona}.{key}"] = [_plain(was), _plain(now)]
    return changed


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
