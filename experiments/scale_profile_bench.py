"""Benchmark of ``linli profile`` on the local and the dask engine: wall time and peak memory per process.

Run one engine per fresh process on a generated folder (``linli generate --partitioned``), e.g.::

    nice -n 5 python -m experiments.scale_profile_bench --data DIR --engine local
    nice -n 5 python -m experiments.scale_profile_bench --data DIR --engine dask --workers 2 --memory-limit 3GiB

Peak memory is each process's VmHWM (Linux): the main process (with the dask engine it also runs the
scheduler) and, with the dask engine, every worker. The last line is JSON; ``personas`` lets the two engines'
outputs be compared. Figures live in docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from experiments.peak_memory import _read_kib


def _peak_mib() -> float:
    peak = _read_kib("VmHWM")
    return round(peak / 1024, 1) if peak is not None else float("nan")


def run(data: Path, engine: str, workers: int, memory_limit: str, seed: int) -> dict[str, object]:
    """Profile ``data`` once with ``engine``; return seconds, peaks (MiB) and the summary's counts."""
    from features.sources import load
    from profiling import profile_dataset, summary

    started = time.perf_counter()
    worker_peaks: dict[str, float] = {}
    stages: dict[str, float] = {}
    if engine == "local":
        report = summary(profile_dataset(load(str(data)), seed=seed))
    else:
        from scale import dask_client, profile_on_cluster

        with dask_client(workers=workers, memory_limit=memory_limit) as client:
            result = profile_on_cluster(client, data, seed=seed)
            report, stages = result.summary(), result.seconds
            worker_peaks = {str(i): peak for i, peak in enumerate(client.run(_peak_mib).values())}
    seconds = time.perf_counter() - started
    return {"engine": engine, "residents": report["residents"], "seconds": round(seconds, 1),
            "peak_main_mib": _peak_mib(), "peak_worker_mib": worker_peaks, "stage_seconds": stages,
            "personas": report["personas"],
            "segments": report["segments"], "community_types": report["community_types"]}


def main() -> None:
    """Command-line entry: one engine, one folder, one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--engine", choices=("local", "dask"), default="local")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GiB")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(json.dumps(run(args.data, args.engine, args.workers, args.memory_limit, args.seed)))


if __name__ == "__main__":
    main()
