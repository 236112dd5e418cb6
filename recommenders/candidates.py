"""The candidate stage of the hybrid: every generator scores every service, the union of each
generator's top services becomes the candidate set, and each candidate gets one feature row
(generator scores and ranks + resident, service and cross features from the feature pipeline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.pipeline import FeaturePipeline
from recommenders.base import Recommender

#: What a ranker row may say about each generator: its raw score, the rank within the resident (1 = best), the
#: gap to the resident's best score, and that gap in standard deviations of the resident's finite scores.
GeneratorStat = Literal["score", "rank", "gap", "relative"]
DEFAULT_GENERATOR_STATS: tuple[GeneratorStat, ...] = ("score", "rank", "gap")
#: Monotone direction of each statistic when the ranker is constrained (a better rank never lowers the score).
MONOTONE_DIRECTION: dict[str, int] = {"score": 1, "rank": -1, "gap": 1, "relative": 1}


def generator_features(scores: dict[str, np.ndarray],
                       stats: Sequence[GeneratorStat] = DEFAULT_GENERATOR_STATS) -> dict[str, np.ndarray]:
    """Per generator, the ``stats`` of every (resident, service) cell (non-finite scores count as worst).

    Parameters
    ----------
    scores : dict of str to ndarray (n, m)
        Each generator's scores for the same n residents and m services.
    stats : sequence of {"score", "rank", "gap", "relative"}

    Returns
    -------
    dict of str to ndarray (n, m)
        ``{name}_{stat}`` for every generator and statistic, generator by generator.
    """
    out: dict[str, np.ndarray] = {}
    for name, matrix in scores.items():
        finite = np.where(np.isfinite(matrix), matrix, np.nan)
        order = np.argsort(-np.nan_to_num(finite, nan=-np.inf), axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(1, matrix.shape[1] + 1)[None, :], axis=1)
        best = np.nanmax(np.where(np.isnan(finite), -np.inf, finite), axis=1, keepdims=True)
        for stat in stats:
            out[f"{name}_{stat}"] = (finite if stat == "score" else rank.astype(np.float64) if stat == "rank"
                                     else finite - best if stat == "gap" else _relative(finite, best))
    return out


def _relative(finite: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Gap to the best score in standard deviations of the resident's finite scores (NaN where none)."""
    counts = np.isfinite(finite).sum(axis=1, keepdims=True)
    mean = np.nansum(finite, axis=1, keepdims=True) / np.maximum(counts, 1)
    spread = np.sqrt(np.nansum((finite - mean) ** 2, axis=1, keepdims=True) / np.maximum(counts, 1))
    return (finite - best) / np.where(spread > 0, spread, 1.0)


def candidate_mask(scores: dict[str, np.ndarray], per_generator: int) -> np.ndarray:
    """(n, m) bool: the union of every generator's top ``per_generator`` services per resident."""
    n, m = next(iter(scores.values())).shape
    mask = np.zeros((n, m), dtype=bool)
    take = min(per_generator, m)
    for matrix in scores.values():
        clean = np.where(np.isfinite(matrix), matrix, -np.inf)
        top = np.argsort(-clean, axis=1, kind="stable")[:, :take]
        np.put_along_axis(mask, top, True, axis=1)
    return mask


def resident_table(pipeline: FeaturePipeline, resident_ids: np.ndarray, known: np.ndarray,
                   profile_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Resident features of ``resident_ids`` in order: fitted ones for ``known`` residents, profile-derived
    (static features only) for the others, whose rows must be in ``profile_rows``.

    A known resident's own history wins over a profile sent for them.
    """
    if known.all():
        return pipeline.resident_features(resident_ids)
    out = pd.DataFrame(np.nan, index=pd.Index(resident_ids), columns=pipeline.feature_names("resident"))
    if known.any():
        out.loc[resident_ids[known]] = pipeline.resident_features(resident_ids[known]).to_numpy()
    fresh = pipeline.transform_resident_profile(profile_rows)
    missing = resident_ids[~known]
    out.loc[missing, fresh.columns] = fresh.loc[missing].to_numpy()
    return out


def candidate_rows(
    pipeline: FeaturePipeline,
    resident_ids: np.ndarray,
    service_ids: np.ndarray,
    mask: np.ndarray,
    scores: dict[str, np.ndarray],
    resident: pd.DataFrame,
    cross_all: pd.DataFrame | None = None,
    profile_rows: pd.DataFrame | None = None,
    stats: Sequence[GeneratorStat] = DEFAULT_GENERATOR_STATS,
    count_top: int | None = None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Feature rows of the candidates, sorted by resident (so each resident is one ranker group).

    Parameters
    ----------
    resident : pandas.DataFrame
        :func:`resident_table` of ``resident_ids``.
    cross_all : pandas.DataFrame, optional
        Cross features of every (resident, service) pair in row-major order, when the caller has them
        anyway (serving needs them for the rules); otherwise only the candidates' are computed.
    stats : sequence of str
        The :func:`generator_features` of every generator.
    count_top : int, optional
        Add ``n_generators``: how many generators have the service among their first ``count_top``.

    Returns
    -------
    features : pandas.DataFrame
        float32 columns: generator features, resident features, service features, cross features.
    rows, cols : ndarray
        Resident row (0..n-1) and service column (0..m-1) of every feature row.
    """
    rows, cols = np.nonzero(mask)
    parts = {name: value[rows, cols] for name, value in generator_features(scores, stats).items()}
    if count_top is not None:
        proposed = [_ranks(matrix)[rows, cols] <= count_top for matrix in scores.values()]
        parts["n_generators"] = np.asarray(np.sum(proposed, axis=0), dtype=np.float64)
    service = pipeline.service_features(service_ids)
    if cross_all is None:
        pairs = pd.DataFrame({C.RESIDENT: resident_ids[rows], C.SERVICE: service_ids[cols]})
        cross = pipeline.cross_features(pairs, profile_rows=profile_rows)
    else:
        cross = cross_all.iloc[rows * len(service_ids) + cols]
    frame = pd.concat([
        pd.DataFrame(parts),
        pd.DataFrame(resident.to_numpy(dtype=np.float64)[rows], columns=resident.columns),
        pd.DataFrame(service.to_numpy(dtype=np.float64)[cols], columns=[f"svc.{c}" for c in service.columns]),
        pd.DataFrame(cross.to_numpy(dtype=np.float64), columns=[f"x.{c}" for c in cross.columns]),
    ], axis=1)
    return frame.astype(np.float32), rows, cols


def _ranks(matrix: np.ndarray) -> np.ndarray:
    return generator_features({"g": matrix}, ("rank",))["g_rank"]


def generator_scores(generators: dict[str, Recommender], internal: np.ndarray, ids: np.ndarray, n_services: int,
                     profile_rows: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Every generator's (residents × services) scores; residents unknown to the model (internal id −1) are scored
    by :func:`cold_start_scores` from ``profile_rows``."""
    scores: dict[str, np.ndarray] = {}
    known = internal >= 0
    for name, model in generators.items():
        matrix = np.zeros((len(internal), n_services), dtype=np.float64)
        if known.any():
            matrix[known] = model.score_matrix(internal[known])
        if (~known).any():
            matrix[~known] = cold_start_scores(model, profile_rows, ids[~known])
        scores[name] = matrix
    return scores


def cold_start_scores(model: Recommender, profile_rows: pd.DataFrame | None, ids: np.ndarray) -> np.ndarray:
    """Scores for residents a generator never saw: its cold-start path if it has one, else popularity order."""
    scorer = getattr(model, "score_profiles", None)
    if scorer is not None and profile_rows is not None:
        rows = profile_rows.set_index(C.RESIDENT).loc[ids].reset_index()
        return np.asarray(scorer(rows), dtype=np.float64)
    popularity = np.asarray(model.history_.sum(axis=0)).ravel()
    return np.tile(popularity / max(popularity.max(), 1e-9), (len(ids), 1))
