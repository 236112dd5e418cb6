"""Cost of the audit log on request latency: the same server with ``LINLI_AUDIT_ENABLED`` on and off.

Each mode starts the API as its own process (``uvicorn``, one worker, as ``linli serve`` runs it) on a fresh
SQLite feedback store and measures, on one keep-alive connection after a warm-up:

- ``GET /segments?level=district`` with a planner key: audited (one durable, hash-chained row per call);
- ``GET /recommendations/{id}`` with a platform key: not audited (the control);

and the audited call again from ``--concurrency`` threads (appends queue on the store's write lock). Rate
limits are raised out of the way. Prints one JSON object (p50/p99 per mode, and the difference).

Run (a trained registry, e.g. from ``linli demo --no-serve``)::

    python -m experiments.audit_bench --tracking-uri sqlite:///data/mlflow.db --requests 1000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from experiments.latency_bench import _percentiles, server

KEYS = {"platform": "bench-platform-key-0001", "planner": "bench-planner-key-0001"}


def _timed(url: str, path: str, key: str, n: int, params: dict[str, Any] | None = None) -> list[float]:
    times = []
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        for i in range(n + 50):
            start = time.perf_counter()
            answer = client.get(path, params=params)
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
            if i >= 50:  # warm-up
                times.append(time.perf_counter() - start)
    return times


def _concurrent(url: str, n: int, concurrency: int) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        local = _timed(url, "/segments", KEYS["planner"], n // concurrency, {"level": "district"})
        with lock:
            times.extend(local)
    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def measure(tracking_uri: str, model: str, audit: bool, requests: int, concurrency: int,
            folder: Path) -> dict[str, Any]:
    """Latency figures of one server with the audit log ``audit`` (on or off)."""
    data = folder / ("on" if audit else "off")
    env = {"LINLI_DATA_DIR": str(data), "LINLI_MLFLOW_TRACKING_URI": tracking_uri, "LINLI_MODEL_NAME": model,
           "LINLI_API_KEYS": ",".join(f"{r}:{k}" for r, k in KEYS.items()), "LINLI_AUDIT_ENABLED": str(audit),
           "LINLI_RATE_LIMIT_PLANNER": "1000000", "LINLI_RATE_LIMIT_PLATFORM": "1000000",
           "LINLI_EXPLORATION_RATE": "0", "OPENBLAS_NUM_THREADS": "1"}
    with server(env) as running:
        url = running["url"]
        resident = "R0000001"  # every generated community has it
        audited = _timed(url, "/segments", KEYS["planner"], requests, {"level": "district"})
        control = _timed(url, f"/recommendations/{resident}", KEYS["platform"], requests, {"k": 10})
        parallel = _concurrent(url, requests, concurrency)
    return {"audited_sequential": _percentiles(audited), "control_sequential": _percentiles(control),
            f"audited_{concurrency}_threads": _percentiles(parallel)}


def main() -> None:
    """Measure with the audit log on, then off, and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", required=True, help="MLflow registry with a champion")
    parser.add_argument("--model-name", default="linli-recommender")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="linli-audit-bench-") as folder:
        figures: dict[str, Any] = {
            mode: measure(args.tracking_uri, args.model_name, mode == "on", args.requests, args.concurrency,
                          Path(folder)) for mode in ("off", "on")}
    figures["cores"] = os.cpu_count()
    figures["audited_p50_added_ms"] = round(figures["on"]["audited_sequential"]["p50_ms"]
                                            - figures["off"]["audited_sequential"]["p50_ms"], 2)
    figures["audited_p99_added_ms"] = round(figures["on"]["audited_sequential"]["p99_ms"]
                                            - figures["off"]["audited_sequential"]["p99_ms"], 2)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
