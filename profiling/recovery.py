"""How well profiling recovers a known truth (the synthetic community's latent persona types).

Rule personas are scored per persona with F1 against ``latent_types`` (multi-label) and summarised by
the macro F1 over all personas; segments are scored with the adjusted Rand index against ``primary_type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from features.columns import LIST_SEPARATOR, Columns, Vocab

LATENT_TYPES = "latent_types"
PRIMARY_TYPE = "primary_type"


class TruthMismatchError(ValueError):
    """The ground-truth table does not cover the profiled residents or lacks a needed column."""


class RecoveryDict(TypedDict):
    """JSON form of :class:`Recovery`."""

    macro_f1: float
    per_persona_f1: dict[str, float]
    segment_ari: float | None


@dataclass(frozen=True)
class Recovery:
    """Recovery scores.

    Attributes
    ----------
    macro_f1 : float
        Mean of the per-persona F1 scores.
    per_persona_f1 : dict of str to float
        F1 of each rule persona against the truth (1.0 when a persona is neither true nor tagged anywhere).
    segment_ari : float or None
        Adjusted Rand index of segments against ``primary_type``; ``None`` when no segments were given.
    """

    macro_f1: float
    per_persona_f1: dict[str, float]
    segment_ari: float | None

    def to_dict(self) -> RecoveryDict:
        """JSON-ready dict with ``macro_f1``, ``per_persona_f1`` and ``segment_ari``."""
        return {"macro_f1": self.macro_f1, "per_persona_f1": dict(self.per_persona_f1),
                "segment_ari": self.segment_ari}


def truth_personas(truth: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Boolean resident × persona frame of the true latent types, aligned to ``index``.

    Raises
    ------
    TruthMismatchError
        If ``truth`` lacks ``resident_id`` or ``latent_types``, or misses residents of ``index``.
    """
    _require(truth, [Columns.RESIDENT, LATENT_TYPES])
    ids = truth[Columns.RESIDENT].astype(object)
    absent = index[~index.isin(ids)]
    if len(absent):
        raise TruthMismatchError(f"ground truth lacks {len(absent)} profiled resident(s), e.g. "
                                 f"{list(absent[:3])}; pass the truth table of the same community")
    latent = truth[LATENT_TYPES].set_axis(pd.Index(ids, name=Columns.RESIDENT))
    latent = latent[~latent.index.duplicated()]
    wrapped = LIST_SEPARATOR + latent.reindex(index).fillna("").astype(str) + LIST_SEPARATOR
    return pd.DataFrame({p: wrapped.str.contains(f"{LIST_SEPARATOR}{p}{LIST_SEPARATOR}", regex=False)
                         .to_numpy(dtype=bool) for p in Vocab.PERSONAS}, index=index)


def persona_f1(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """F1 of each persona column of ``predicted`` against the same column of ``truth`` (both boolean)."""
    scores = {}
    for persona in Vocab.PERSONAS:
        pred = (predicted[persona].to_numpy(dtype=bool) if persona in predicted
                else np.zeros(len(predicted), dtype=bool))
        true = truth[persona].to_numpy(dtype=bool)
        tp = int((pred & true).sum())
        denominator = int(pred.sum()) + int(true.sum())
        scores[persona] = 1.0 if denominator == 0 else 2 * tp / denominator
    return scores


def recovery_scores(tags: pd.DataFrame, truth: pd.DataFrame, segments: pd.Series | None = None) -> Recovery:
    """Score rule personas (and optionally segments) against the ground truth.

    Parameters
    ----------
    tags : pandas.DataFrame
        Boolean resident × persona frame indexed by resident id.
    truth : pandas.DataFrame
        Ground truth with ``resident_id``, ``latent_types`` (``;``-joined personas, ``""`` for none) and,
        for the segment score, ``primary_type``.
    segments : pandas.Series, optional
        Segment id per resident id.

    Returns
    -------
    Recovery
    """
    per_persona = persona_f1(tags, truth_personas(truth, tags.index))
    ari = None
    if segments is not None:
        _require(truth, [PRIMARY_TYPE])
        primary = truth.set_index(Columns.RESIDENT)[PRIMARY_TYPE].reindex(segments.index).astype(str)
        ari = float(adjusted_rand_score(primary.to_numpy(), segments.to_numpy()))
    return Recovery(float(np.mean(list(per_persona.values()))), per_persona, ari)


def _require(truth: pd.DataFrame, columns: list[str]) -> None:
    absent = [c for c in columns if c not in truth.columns]
    if absent:
        raise TruthMismatchError(f"ground truth lacks column(s) {absent}; expected the synthetic "
                                 "community's ground_truth table")
