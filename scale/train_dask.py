"""``linli train --engine dask``: the local engine's models, evaluated per resident bucket on a Dask cluster.

1. Every part of every table is validated where it lies (:mod:`scale.validate`); residents and interactions are
   shuffled once into resident buckets (:mod:`scale.engine`).
2. **Fit, on one worker.** The data is loaded there through the local engine's loader (the same validation,
   pseudonyms and time bounds), the erased residents are left out, and the single models and the hybrid
   (generators from the sparse matrix, features, the LambdaRank ranker on the seeded sample of label residents
   of ``labels.max_label_residents``) are fitted with the local engine's code.
3. **Per bucket:** the test window's truth, the persona tags at the test start (history span and cut-off are
   global, as in :mod:`scale.profile_dask`), the cold-start residents and the residents per service before the
   test start; then every model's top-k lists of the bucket's test residents (the fitted models are sent to
   every worker).
4. **Combined exactly:** the lists and the truth are gathered (``k`` rows per test resident) and scored once
   with :func:`training.metrics.evaluate`, so every metric is the one of the whole window (no mean of bucket
   means). Residents per service are summed over buckets (each resident is in one bucket).
5. The refit and the bundle's profile run on the fitting worker.
6. **Lists per bucket:** every resident's stored lists are scored on the workers with the refitted bundle, one
   list bucket per task, by the local engine's list writer (:mod:`scale.lists_dask`).
7. The run, the registered version and the promotion gate are the local engine's own
   (:func:`training.retrain.register_trained`, given the lists folder), reached only after every stage has
   finished, so a failed stage never registers a version.

A worker that dies is replaced and its tasks are retried (:data:`RETRIES`); when a task kills workers again and
again (out of memory), :class:`~scale.cluster.ClusterError` names the stage and the setting to change.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from distributed import Client, Future, wait
from distributed.scheduler import KilledWorker

from features.columns import Columns as C
from features.dataset import Dataset
from features.errors import LinliDataError
from features.time_bounds import OUT_OF_TIME
from profiling.config import ProfilingConfig, load_config
from scale.buckets import default_buckets
from scale.cluster import RETRIES, ClusterError
from scale.engine import Bucket, bucket_data, history_days_from
from scale.lists_dask import bucket_residents, write_lists_on_cluster
from scale.parts import folder_parts
from scale.profile_dask import profile_bucket
from scale.validate import validate_on_cluster
from training.config import TrainConfig
from training.evaluation import EvaluationWindow
from training.feedback_data import FeedbackLog, FeedbackMerge, merge_feedback
from training.retrain import Trained, TrainResult, register_trained
from training.splits import SplitError, TimeSplit

T = TypeVar("T")


@dataclass(frozen=True)
class _Fitted:
    split: TimeSplit
    models: dict[str, Any]
    seconds: dict[str, float]
    service_ids: np.ndarray
    categories: pd.Series


@dataclass(frozen=True)
class _BucketWindow:
    truth: pd.DataFrame
    personas: pd.DataFrame
    cold_start: pd.Index
    served_residents: pd.Series
    lists: dict[str, pd.DataFrame]


def _load(data: str, now: pd.Timestamp | None, erased: frozenset[str], feedback: FeedbackLog | None
          ) -> tuple[Dataset, FeedbackMerge | None, int]:
    """The local engine's data: loaded, bounded, without the erased residents, with the feedback merged."""
    from features.sources import load
    from features.time_bounds import bound_history
    from privacy.erasure import without_residents

    dataset, _ = without_residents(bound_history(load(data, now=now), now), erased)
    out_of_time = dataset.dropped.get(OUT_OF_TIME, 0)  # the merged dataset is new: count before merging
    merged, merge = merge_feedback(dataset, feedback, now) if feedback is not None else (dataset, None)
    return merged, merge, out_of_time


def _with_feedback(dataset: Dataset, feedback: FeedbackLog | None, now: pd.Timestamp | None) -> Dataset:
    """A bucket's share of the merged data: the feedback of its own residents (other residents' rows are
    unknown to the bucket and left out, as the local engine leaves out unknown residents)."""
    if feedback is None:
        return dataset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # out-of-time feedback is counted and warned once, on the fitting worker
        return merge_feedback(dataset, feedback, now)[0]


def _fit(dataset: Dataset, cfg: TrainConfig) -> _Fitted:
    from recommenders.hybrid import HybridRecommender
    from recommenders.registry import make_recommender
    from training.splits import require_residents, time_split

    require_residents(dataset, cfg.test_weeks, cfg.hybrid.label_weeks)
    split = time_split(dataset, test_weeks=cfg.test_weeks, validation_weeks=0)
    models: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name in [*cfg.single_models, "hybrid"]:
        started = time.perf_counter()
        if name == "hybrid":
            models[name] = HybridRecommender(cfg.hybrid).fit(dataset, split.train_until)
        else:
            models[name] = make_recommender(name, cfg.hybrid.generators.get(name, {})).fit(dataset, split.train_until)
        seconds[name] = round(time.perf_counter() - started, 2)
    categories = dataset.services.set_index(C.SERVICE)[C.CATEGORY]
    return _Fitted(split, models, seconds, dataset.service_ids.external.to_numpy(), categories)


def _window(bucket: Bucket, fitted: _Fitted, erased: frozenset[str], k: int, profiling: ProfilingConfig,
            feedback: FeedbackLog | None, now: pd.Timestamp | None) -> _BucketWindow:
    from privacy.erasure import without_residents
    from training.relevance import relevance_frame, service_resident_counts

    dataset = _with_feedback(without_residents(bucket.dataset, erased)[0], feedback, now)
    split = fitted.split
    truth = relevance_frame(split.events(dataset, "test"))
    history_days = history_days_from(split.test_start, split.start.value)
    tags = profile_bucket(Bucket(dataset, bucket.rows), split.test_start, history_days, profiling.personas).tags.tags
    residents = pd.unique(truth[C.RESIDENT].to_numpy(dtype=object))
    before = dataset.until(split.test_start).interactions
    served = service_resident_counts(before, pd.Index(fitted.service_ids))
    lists = {name: model.recommend(residents, k) for name, model in fitted.models.items()}
    return _BucketWindow(truth, tags.reindex(residents), split.cold_start(dataset, "test"), served, lists)


def _final(dataset: Dataset, fitted: _Fitted, cfg: TrainConfig, profiling: ProfilingConfig | None
           ) -> tuple[Any, dict[str, float], dict[str, int], dict[str, int]]:
    from profiling.profile import profile_dataset
    from recommenders.hybrid import HybridRecommender
    from training.bundle import ModelBundle

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    hybrid = fitted.models["hybrid"]
    hybrid = HybridRecommender(cfg.hybrid).fit(dataset) if cfg.refit_ranker else hybrid.refit(dataset)
    seconds["refit"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    profile = profile_dataset(dataset, cutoff=hybrid.cutoff_, seed=cfg.seed, config=profiling)
    seconds["profile"] = round(time.perf_counter() - started, 2)
    bundle = ModelBundle(model=hybrid, profile=profile, data_fingerprint=dataset.fingerprint(),
                         cutoff=hybrid.cutoff_, config=cfg.model_dump(mode="json"), metrics={})
    counts = {"residents": len(dataset.residents), "interactions": len(dataset.interactions)}
    return bundle, seconds, counts, {OUT_OF_TIME: dataset.dropped.get(OUT_OF_TIME, 0)}


def _stage(name: str, memory_limit: str | None, run: Callable[[], T]) -> T:
    """``run()``; a worker killed :data:`RETRIES` + 1 times becomes a :class:`ClusterError` naming the stage."""
    try:
        return run()
    except KilledWorker as exc:
        limit = f" (now {memory_limit})" if memory_limit else ""
        raise ClusterError(
            f"stage {name!r}: a Dask worker died {RETRIES + 1} times running it, most likely out of memory; "
            f"raise --memory-limit{limit}, or give the cluster workers with more memory. Nothing was registered."
        ) from exc


def train_on_cluster(client: Client, data: str | Path, *, tracking_uri: str, model_name: str,
                     config: TrainConfig | None = None, artifact_location: str | None = None,
                     progress: Callable[[str], None] | None = None, now: pd.Timestamp | None = None,
                     profiling: ProfilingConfig | None = None, erased: frozenset[str] = frozenset(),
                     memory_limit: str | None = None, n_buckets: int | None = None,
                     feedback: FeedbackLog | None = None) -> TrainResult:
    """Train, evaluate per bucket, log, register and gate one new model version on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
    data : str or Path
        Folder of single files and/or partitioned tables, seen at the same path by every worker.
    tracking_uri, model_name, config, artifact_location, progress, now, profiling
        As :func:`training.retrain.train`.
    erased : frozenset of str
        Pseudonyms of the erasure ledger: left out of every stage.
    memory_limit : str, optional
        The workers' memory limit, named in the out-of-memory message.
    n_buckets : int, optional
        Resident buckets; default about 50,000 residents each and at least two per worker.
    feedback : FeedbackLog, optional
        The feedback store's served lists, events and requests, read once: merged into the fitting worker's data
        as the local engine merges them, sent to every worker for its buckets' share, and used for the gate's
        online check.

    Raises
    ------
    ClusterError
        A stage killed its worker again and again (the message names the stage and the setting).
    training.splits.SplitError, features.errors.LinliDataError
        As the local engine.
    """
    cfg = config or TrainConfig()
    say = progress or (lambda _label: None)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(label: str) -> None:
        nonlocal clock
        seconds[label] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()

    say("validate")
    parts = folder_parts(data)
    _stage("validate", memory_limit, lambda: validate_on_cluster(client, parts))
    lap("validate")
    say("bucket")
    n_residents = sum(p.rows for p in parts["residents"])
    if n_residents == 0:
        raise LinliDataError(f"{data}: no residents; training needs at least one row in the residents table")
    workers = len(client.scheduler_info().get("workers", {})) or 1
    bucketed = _stage("bucket", memory_limit,
                      lambda: bucket_data(client, parts, n_buckets or default_buckets(n_residents, workers), now))
    lap("bucket")
    say("fit")
    shared = client.scatter(feedback, broadcast=True, hash=False) if feedback is not None else None
    loaded: Future = client.submit(_load, str(data), now, erased, shared, retries=RETRIES, pure=False)
    dataset: Future = client.submit(_first, loaded, pure=False)
    fitted: Future = client.submit(_fit, dataset, cfg, retries=RETRIES, pure=False)
    split, fit_seconds, service_ids, categories = _stage("fit", memory_limit, client.submit(
        _summary, fitted, retries=RETRIES, pure=False).result)
    seconds.update(fit_seconds)
    lap("fit")
    say("evaluate")
    windows = client.map(_window, bucketed.buckets, fitted=fitted, erased=erased, k=cfg.k,
                         profiling=profiling or load_config(), feedback=shared, now=now, retries=RETRIES,
                         pure=False)
    pieces: list[_BucketWindow] = _stage("evaluate", memory_limit, lambda: client.gather(windows))
    residents = client.map(bucket_residents, bucketed.buckets, retries=RETRIES)  # ids only, for the lists
    _stage("evaluate", memory_limit, lambda: wait(residents))
    client.cancel(windows)
    for bucket in bucketed.buckets:  # released, not cancelled: cancelling would cancel the ids computed from it
        bucket.release()
    window = combined_window(pieces, split, service_ids, categories, cfg.k)
    metrics = {name: window.score_lists(pd.concat([p.lists[name] for p in pieces], ignore_index=True))
               for name in pieces[0].lists}
    metrics = {name: metrics[name] for name in [*cfg.single_models, "hybrid"]}
    lap("evaluate")
    say("refit")
    final = client.submit(_final, dataset, fitted, cfg, profiling, retries=RETRIES, pure=False)
    bundle, final_seconds, counts, dropped = _stage("refit", memory_limit, final.result)
    merge, known, dropped[OUT_OF_TIME] = client.submit(_merged, loaded, feedback is not None, pure=False).result()
    if merge is not None:
        dropped["feedback_out_of_time"] = merge.out_of_time_rows
    for done in (fitted, dataset, loaded):  # released, not cancelled: cancelling would cancel the bundle
        done.release()
    seconds.update(final_seconds)
    bundle.metrics = metrics
    say("lists")
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="linli-lists-") as lists:
        on_workers = client.submit(_first, final, pure=False)
        _stage("lists", memory_limit, lambda: write_lists_on_cluster(
            client, residents, on_workers, len(bundle.resident_ids()), len(bundle.service_ids()), Path(lists)))
        client.cancel([on_workers, final, *residents])
        lap("lists")
        trained = Trained(cfg, split, metrics, window.persona_counts(), seconds, counts, dropped)
        return register_trained(bundle, trained, tracking_uri=tracking_uri, model_name=model_name,
                                artifact_location=artifact_location, say=say, lists=Path(lists),
                                feedback=feedback, merge=merge, known=known)


def _first(values: tuple[Any, ...]) -> Any:
    return values[0]


def _merged(loaded: tuple[Dataset, FeedbackMerge | None, int], with_feedback: bool
            ) -> tuple[FeedbackMerge | None, pd.Index | None, int]:
    """The feedback counts, the known residents for the gate's online check (with feedback only) and the
    interactions dropped for their time."""
    from training.online_gate import known_residents

    dataset, merge, out_of_time = loaded
    return merge, known_residents(dataset.resident_ids.external) if with_feedback else None, out_of_time


def _summary(fitted: _Fitted) -> tuple[TimeSplit, dict[str, float], np.ndarray, pd.Series]:
    return fitted.split, fitted.seconds, fitted.service_ids, fitted.categories


def combined_window(pieces: list[_BucketWindow], split: TimeSplit, service_ids: np.ndarray,
                    categories: pd.Series, k: int) -> EvaluationWindow:
    """The whole test window from its buckets: truth, personas and cold-start residents joined (each resident is
    in one bucket), residents per service summed.

    Raises
    ------
    training.splits.SplitError
        The test window holds no positive event in any bucket (as the local engine).
    """
    truth = pd.concat([p.truth for p in pieces], ignore_index=True)
    if truth.empty:
        start, stop = split.bounds("test")
        raise SplitError(f"the test window [{start}, {stop}) has no positive events (book, use, rate); "
                         "widen the window or choose other positive events")
    residents = pd.unique(truth[C.RESIDENT].to_numpy(dtype=object))
    cold = pd.Index(np.concatenate([p.cold_start.to_numpy(dtype=object) for p in pieces]), name=C.RESIDENT)
    popularity = sum((p.served_residents for p in pieces[1:]), pieces[0].served_residents)
    return EvaluationWindow(split=split, truth=truth, residents=residents,
                            personas=pd.concat([p.personas for p in pieces]), cold_start=cold.sort_values(),
                            popularity=popularity, n_services=len(service_ids), k=k, categories=categories)
