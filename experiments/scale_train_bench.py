"""Benchmark of ``linli train`` on the local and the dask engine (``linli bench scale``).

For each size a partitioned community is generated once into ``CACHE/p{SIZE}`` (``linli generate --partitioned``,
seed 42) and kept for later runs. Each (engine, size) trains in a fresh process (:func:`run_one`), so its peak
memory is its own: the main process's VmHWM and, with the dask engine, every worker's. A local run that the
measured trend says would pass the memory budget is not started: it is reported as ``does not fit`` with the
predicted peak (the local engine's peak grows in step with residents; the trend is the largest measured peak per
resident, or a line through the measured peaks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from experiments.peak_memory import _read_kib

CACHE = Path("data/cache/scale")


def _peak_mib() -> float:
    peak = _read_kib("VmHWM")
    return round(peak / 1024, 1) if peak is not None else float("nan")


def community_folder(residents: int, seed: int = 42, cache: Path = CACHE) -> Path:
    """The partitioned folder of a ``residents`` community, generated once (``linli generate --partitioned``)."""
    folder = cache / f"p{residents}-s{seed}"
    if (folder / "interactions").is_dir():
        return folder
    from features.sources.partitioned import write_partitioned_folder
    from features.sources.synthetic import generate_community

    partial = folder.with_name(folder.name + ".partial")
    write_partitioned_folder(generate_community(residents=residents, seed=seed).frames, partial)
    partial.rename(folder)
    return folder


def run_one(engine: str, data: Path, workers: int, memory_limit: str, seed: int, folder: Path) -> dict[str, Any]:
    """Train once on ``data`` with ``engine`` in this process: seconds per stage, peaks (MiB), NDCG@10."""
    from training.config import TrainConfig

    config = TrainConfig().with_seed(seed)
    tracking: dict[str, Any] = {"tracking_uri": f"sqlite:///{folder / 'mlflow.db'}", "model_name": "bench",
                "artifact_location": (folder / "artifacts").as_uri(), "config": config}
    started = time.perf_counter()
    workers_peak: list[float] = []
    if engine == "local":
        from features.sources import load
        from training.retrain import train

        loaded = time.perf_counter()
        dataset = load(str(data))
        load_seconds = round(time.perf_counter() - loaded, 2)
        result = train(dataset, **tracking)
        stages = {"load": load_seconds, **result.seconds}
    else:
        from scale import dask_client
        from scale.train_dask import train_on_cluster

        with dask_client(workers=workers, memory_limit=memory_limit) as client:
            result = train_on_cluster(client, data, memory_limit=memory_limit, **tracking)
            workers_peak = sorted(client.run(_peak_mib).values())
        stages = result.seconds
    metrics = result.metrics
    return {"engine": engine, "residents": _residents(data), "seconds": round(time.perf_counter() - started, 1),
            "stage_seconds": stages, "peak_main_mib": _peak_mib(), "peak_worker_mib": workers_peak,
            "ndcg@10": {name: round(float(m["ndcg@10"]), 4) for name, m in metrics.items()
                        if name in ("hybrid", "popular")}}


def _residents(data: Path) -> int:
    from scale.parts import folder_parts

    return sum(p.rows for p in folder_parts(data)["residents"])


def predicted_local_peak_mib(measured: list[dict[str, Any]], residents: int) -> float | None:
    """The local engine's peak at ``residents`` from the measured local runs (``None`` before any)."""
    points = sorted((row["residents"], row["peak_main_mib"]) for row in measured if row.get("engine") == "local"
                    and "peak_main_mib" in row)
    if not points:
        return None
    if len(points) == 1 or points[-1][0] == points[0][0]:
        return points[-1][1] / points[-1][0] * residents
    (x0, y0), (x1, y1) = points[0], points[-1]
    slope = (y1 - y0) / (x1 - x0)
    return max(y1 + slope * (residents - x1), points[-1][1] / points[-1][0] * residents)


def run(sizes: list[int], engines: list[str], workers: int, memory_limit: str, seed: int = 42,
        budget_mib: float = 24 * 1024, cache: Path = CACHE) -> dict[str, Any]:
    """Every (size, engine) in a fresh process, smallest size first; local sizes past the budget are predicted."""
    import tempfile

    rows: list[dict[str, Any]] = []
    for size in sorted(sizes):
        data = community_folder(size, seed, cache)
        for engine in engines:
            predicted = predicted_local_peak_mib(rows, size) if engine == "local" else None
            if predicted is not None and predicted > budget_mib:
                rows.append({"engine": engine, "residents": size, "fits": False,
                             "predicted_peak_main_mib": round(predicted), "budget_mib": budget_mib})
                continue
            with tempfile.TemporaryDirectory(prefix=f"linli-scale-{engine}-{size}-") as folder:
                done = subprocess.run([sys.executable, "-m", "experiments.scale_train_bench", engine, str(data),
                                       str(workers), memory_limit, str(seed), folder], check=True,
                                      capture_output=True, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
            rows.append({**json.loads(done.stdout.strip().splitlines()[-1]), "fits": True})
    return {"cores": os.cpu_count(), "load_average": os.getloadavg(), "workers": workers,
            "memory_limit": memory_limit, "budget_mib": budget_mib, "rows": rows}


def format_report(report: dict[str, Any]) -> str:
    """A Markdown table of :func:`run`'s rows."""
    lines = [f"nproc = {report['cores']}, load average {', '.join(f'{x:.1f}' for x in report['load_average'])}",
             "| engine | residents | seconds | peak main MiB | peak workers MiB | NDCG@10 hybrid | NDCG@10 popular |",
             "|---|---|---|---|---|---|---|"]
    for row in report["rows"]:
        if not row["fits"]:
            lines.append(f"| {row['engine']} | {row['residents']:,} | does not fit: predicted peak "
                         f"{row['predicted_peak_main_mib']:,} MiB > {row['budget_mib']:,.0f} | | | | |")
            continue
        ndcg = row["ndcg@10"]
        lines.append(f"| {row['engine']} | {row['residents']:,} | {row['seconds']} | {row['peak_main_mib']:,} | "
                     f"{', '.join(map(str, row['peak_worker_mib'])) or '—'} | {ndcg.get('hybrid')} | "
                     f"{ndcg.get('popular')} |")
    return "\n".join(lines)


if __name__ == "__main__":  # only as run()'s child; users run ``linli bench scale``
    engine_, data_, workers_, limit_, seed_, folder_ = sys.argv[1:]
    print(json.dumps(run_one(engine_, Path(data_), int(workers_), limit_, int(seed_), Path(folder_)), default=str))
