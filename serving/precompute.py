"""Ranking residents with a bundle: every known resident at load (in batches, optionally in parallel
processes), and cold-start residents or long lists on demand.

The bundle's own ``recommend`` does all the work, so a precomputed list is exactly what the model answers.
Most of its time goes into explanations (LightGBM feature contributions), hence the precomputation.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from features.columns import Columns as C
from serving.ranked import RankedLists
from training.bundle import ModelBundle

logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
_PREFERS_OFFLINE = "prefers_offline"
_worker_bundle: ModelBundle | None = None


def rank_residents(bundle: ModelBundle, resident_ids: list[str], k: int,
                   profile_rows: pd.DataFrame | None = None, depth: int = 0) -> RankedLists:
    """Recommend ``k`` services with explanations to each resident and pack the lists.

    With ``depth``, each list also keeps the ``depth`` services that ``recommend(k + depth)`` ranks next (the
    exploration pool), explained by their checkable reasons only: the ranker's key factors (feature
    contributions) are most of the cost of a list, and only one pool service is ever shown, now and then. One
    ranking pass serves both: the services ``recommend(k)`` would list keep their full explanations.

    Parameters
    ----------
    bundle : ModelBundle
    resident_ids : list of str
        Known residents, or (with ``profile_rows``) residents the model has not seen.
    k : int
    profile_rows : pandas.DataFrame, optional
        Raw residents-table rows of the unknown residents (cold start).

    Raises
    ------
    features.errors.DataValidationError
        If a profile row breaks the residents contract.
    features.errors.UnknownIdError
        If a resident is unknown and has no profile row.
    """
    frame = bundle.recommend(resident_ids, k + depth, explain=True, explain_factors=k if depth else None,
                             profile_rows=profile_rows)
    prefers = _prefers_offline(bundle, resident_ids, profile_rows)
    return RankedLists.from_recommendations(frame, resident_ids, bundle.model.service_ids_.external,
                                            prefers, k, depth)


def precompute_all(bundle: ModelBundle, k: int, batch: int = 1000, workers: int = 1, model_dir: Path | None = None,
                   progress: Progress | None = None, depth: int = 0) -> RankedLists:
    """Lists of every resident the bundle knows.

    Parameters
    ----------
    bundle : ModelBundle
    k : int
        List length.
    batch : int
        Residents per ``recommend`` call.
    workers : int
        Processes; above 1 each loads (and verifies) the bundle from ``model_dir`` (an MLflow pyfunc folder).
    model_dir : Path, optional
        Required when ``workers > 1``.
    progress : callable, optional
        Called with (residents done, residents in all).
    depth : int
        Services kept past ``k`` for exploration (see :func:`rank_residents`).
    """
    ids = [str(r) for r in bundle.model.resident_ids_.external]
    shards = [ids[i:i + batch] for i in range(0, len(ids), batch)]
    started = time.perf_counter()
    parts: list[RankedLists] = []
    done = 0

    def collect(part: RankedLists) -> None:
        nonlocal done
        parts.append(part)
        done += len(part)
        if progress is not None:
            progress(done, len(ids))

    if workers <= 1 or model_dir is None or len(shards) < 2:
        for shard in shards:
            collect(rank_residents(bundle, shard, k, depth=depth))
    else:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs OpenMP and threads
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_load_in_worker,
                                 initargs=(str(model_dir),)) as pool:
            for part in pool.map(_rank_in_worker, shards, [k] * len(shards), [depth] * len(shards)):
                collect(part)
    logger.info("precomputed %d lists of %d services in %.1f s (%d process(es))", len(ids), k,
                time.perf_counter() - started, workers)
    if not parts:
        empty = pd.DataFrame({C.RESIDENT: [], C.SERVICE: [], "score": []})
        return RankedLists.from_recommendations(empty, [], bundle.model.service_ids_.external,
                                                np.zeros(0, dtype=bool), k, depth)
    return RankedLists.concat(parts)


def _prefers_offline(bundle: ModelBundle, resident_ids: list[str], profile_rows: pd.DataFrame | None
                     ) -> np.ndarray:
    pipeline = bundle.model.pipeline_
    ids = np.asarray(resident_ids, dtype=object)
    known = bundle.model.resident_ids_.to_internal(ids, strict=False) >= 0
    values = np.zeros(len(ids), dtype=np.float64)
    if known.any():
        values[known] = pipeline.resident_features(ids[known])[_PREFERS_OFFLINE].to_numpy(dtype=np.float64,
                                                                                          na_value=np.nan)
    if (~known).any() and profile_rows is not None:
        fresh = pipeline.transform_resident_profile(profile_rows)[_PREFERS_OFFLINE]
        values[~known] = fresh.reindex(ids[~known]).to_numpy(dtype=np.float64, na_value=np.nan)
    return values == 1


def _load_in_worker(model_dir: str) -> None:
    from training.pyfunc import bundle_path

    global _worker_bundle
    _worker_bundle = ModelBundle.load(bundle_path(model_dir))  # verifies the signature again, never runs code


def _rank_in_worker(resident_ids: list[str], k: int, depth: int) -> RankedLists:
    if _worker_bundle is None:
        raise RuntimeError("precompute worker started without a bundle")
    return rank_residents(_worker_bundle, resident_ids, k, depth=depth)


__all__ = ["precompute_all", "rank_residents"]
