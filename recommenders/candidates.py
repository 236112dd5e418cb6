"""The candidate stage of the hybrid: every generator scores every service, the union of each
generator's top services becomes the candidate set, and each candidate gets one feature row
(generator scores and ranks + resident, service and cross features from the feature pipeline)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.pipeline import FeaturePipeline


def generator_features(scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per generator: raw score, rank within the resident (1 = best) and gap to the resident's best score.

    Parameters
    ----------
    scores : dict of str to ndarray (n, m)
        Each generator's scores for the same n residents and m services.

    Returns
    -------
    dict of str to ndarray (n, m)
        ``{name}_score``, ``{name}_rank``, ``{name}_gap``.
    """
    out: dict[str, np.ndarray] = {}
    for name, matrix in scores.items():
        finite = np.where(np.isfinite(matrix), matrix, np.nan)
        order = np.argsort(-np.nan_to_num(finite, nan=-np.inf), axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(1, matrix.shape[1] + 1)[None, :], axis=1)
        best = np.nanmax(np.where(np.isnan(finite), -np.inf, finite), axis=1, keepdims=True)
        out[f"{name}_score"] = finite
        out[f"{name}_rank"] = rank.astype(np.float64)
        out[f"{name}_gap"] = finite - best
    return out


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
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Feature rows of the candidates, sorted by resident (so each resident is one ranker group).

    Parameters
    ----------
    resident : pandas.DataFrame
        :func:`resident_table` of ``resident_ids``.
    cross_all : pandas.DataFrame, optional
        Cross features of every (resident, service) pair in row-major order, when the caller has them
        anyway (serving needs them for the rules); otherwise only the candidates' are computed.

    Returns
    -------
    features : pandas.DataFrame
        float32 columns: generator features, resident features, service features, cross features.
    rows, cols : ndarray
        Resident row (0..n-1) and service column (0..m-1) of every feature row.
    """
    rows, cols = np.nonzero(mask)
    parts: dict[str, np.ndarray] = {name: value[rows, cols] for name, value in generator_features(scores).items()}
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
