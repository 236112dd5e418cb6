"""The dask engine behind ``linli profile --engine dask`` (kept apart so the local path imports no Dask)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.errors import LinliDataError
from linli.common import fail, stray_rows_reported


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
