"""The dask engine behind ``linli profile --engine dask`` (kept apart so the local path imports no Dask)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from features.errors import LinliDataError
from linli.common import fail, stray_rows_reported

EngineOption = Annotated[str, typer.Option(
    help="local (one pandas process, the default) or dask (resident buckets on a Dask cluster; "
         "see docs/scale.md for when to switch).")]
WorkersOption = Annotated[int, typer.Option(min=1, help="dask: worker processes of the LocalCluster Linli starts.")]
MemoryLimitOption = Annotated[str, typer.Option(help="dask: memory of each LocalCluster worker, e.g. 2GiB.")]
SchedulerOption = Annotated[str | None, typer.Option(
    help="dask: address of a running scheduler (tcp://HOST:8786) instead of a LocalCluster.")]


def profile_with_dask(data: str, *, seed: int, personas: Path | None, now: pd.Timestamp | None, workers: int,
                      memory_limit: str, scheduler: str | None) -> dict[str, object]:
    """The summary ``linli profile --json`` prints, computed per resident bucket on a Dask cluster."""
    from features.sources.synthetic import read_ground_truth
    from profiling import ProfilingConfigError, load_config
    from scale import ClusterError, dask_client, profile_on_cluster

    try:
        config = load_config(personas)
        with dask_client(scheduler, workers=workers, memory_limit=memory_limit) as client, stray_rows_reported():
            result = profile_on_cluster(client, data, seed=seed, config=config, now=now)
    except (LinliDataError, ProfilingConfigError, ClusterError) as exc:
        raise fail(str(exc)) from exc
    return {**result.summary(read_ground_truth(data)), "dropped": result.dropped}


def train_with_dask(data: str, *, config: Path | None, seed: int | None, feedback: str | None,
                    now: pd.Timestamp | None, personas: Path | None, workers: int, memory_limit: str,
                    scheduler: str | None) -> dict[str, object]:
    """What ``linli train --json`` prints, trained with the dask engine (:mod:`scale.train_dask`).

    The feedback store (``--feedback``, else the one in force) is read once, as the local engine reads it: its
    erasure ledger, and its served lists, events and requests to learn from (``--feedback none``: neither).
    """
    from linli.cli import _feedback_log, _with_personas
    from linli.security_commands import record_alias_move
    from linli.settings import get_settings
    from profiling import ProfilingConfigError, load_config
    from recommenders.errors import NotEnoughHistoryError
    from scale import ClusterError, dask_client
    from scale.train_dask import train_on_cluster
    from training.config import TrainConfig, TrainConfigError
    from training.splits import SplitError

    settings = get_settings()
    try:
        profiling = load_config(personas) if personas is not None else None
        cfg = TrainConfig.from_toml(config) if config else TrainConfig.from_toml()
        if seed is not None:
            cfg = cfg.with_seed(seed)
        if personas is not None:
            cfg = _with_personas(cfg, personas)
        erased = _erased_ledger(feedback)
        log = _feedback_log(feedback)
        with dask_client(scheduler, workers=workers, memory_limit=memory_limit) as client, stray_rows_reported():
            result = train_on_cluster(client, data, tracking_uri=settings.tracking_uri(),
                                      model_name=settings.model_name, config=cfg,
                                      artifact_location=settings.artifact_location(), now=now,
                                      profiling=profiling, erased=erased,
                                      memory_limit=None if scheduler else memory_limit, feedback=log)
    except (LinliDataError, TrainConfigError, ProfilingConfigError, ClusterError, SplitError,
            NotEnoughHistoryError) as exc:
        raise fail(str(exc)) from exc
    record_alias_move(None if feedback == "none" else feedback, settings.model_name, result.alias, result.model_version)
    return result.to_json()


def _erased_ledger(feedback: str | None) -> frozenset[str]:
    """Pseudonyms of the erasure ledger of the ``--feedback`` store, else the one in force (empty without a
    store; ``--feedback none`` still reads the store in force, as the local engine does)."""
    from linli.common import feedback_store_url
    from serving.store import FeedbackStore, StoreUnavailableError
    from serving.store_privacy import erased

    url, exists = feedback_store_url(None if feedback is None or feedback.lower() == "none" else feedback)
    if not exists:
        return frozenset()
    try:
        with FeedbackStore(url) as store:
            return frozenset(erased(store))
    except StoreUnavailableError as exc:
        raise fail(f"cannot read the erasure ledger in {url}: {exc}; nothing was trained") from exc
