"""Throughput of ``linli serve --workers N`` over loopback, and a reload under load.

For each N in ``--workers`` (default 1 and 2): start ``linli serve --workers N`` on a trained registry, warm
up, then ``--concurrency`` client threads send ``GET /recommendations/{id}?k=10`` for ``--seconds``
(:func:`experiments.latency_bench.workers_runs`: requests/s, p50, p99, errors, RSS per process). With
``--reload``, a second run sends ``POST /models/reload`` half-way through and reports its answer; every error
during the run counts, so "errors": 0 means the reload dropped nothing. ``experiments.latency_bench`` runs the
same step as its step 5.

Run (a registry from ``linli train``, or one is trained first)::

    python -m experiments.throughput_bench --tracking-uri sqlite:///data/mlflow.db --reload
    python -m experiments.throughput_bench --residents 20000 --reload --seconds 20
    python -m experiments.throughput_bench --rate-limits memory sqlite:///tmp/rate.db redis://127.0.0.1:6379/15
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from experiments.latency_bench import _resident_ids, _train, workers_runs


def run(
    tracking_uri: str, folder: Path, *, workers: list[int], seconds: float, concurrency: int, reload: bool
) -> dict[str, Any]:
    """Requests per second for each number of workers (see the module docstring)."""
    residents = _resident_ids(tracking_uri)
    report: dict[str, Any] = {
        "cores": os.cpu_count(),
        "residents": len(residents),
        "concurrency": concurrency,
        "load_average_before": os.getloadavg()[0],
    }
    report["runs"] = workers_runs(tracking_uri, folder, residents, workers=workers, seconds=seconds,
                                  concurrency=concurrency, reload_too=reload)
    return report


def rate_limit_cost(stores: list[str], n: int = 3000) -> dict[str, dict[str, float]]:
    """Per-request cost of the rate limiter on each store: a take on a key's bucket plus the failed-sign-in check
    (what :func:`serving.auth.require` does), ``n`` times from one thread; p50 and p99 in microseconds."""
    from serving.rate_limit import RateLimiter

    out = {}
    for store in stores:
        limiter = RateLimiter({"platform": 1e9}, 5, 60, store)
        times = []
        for i in range(n + 200):
            started = time.perf_counter()
            limiter.blocked("127.0.0.1")
            limiter.take("bench-key", "platform")
            if i >= 200:  # warm-up
                times.append(time.perf_counter() - started)
        times.sort()
        out[store.split(":")[0]] = {
            "p50_us": round(times[n // 2] * 1e6, 1),
            "p99_us": round(times[int(n * 0.99)] * 1e6, 1),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", help="registry holding linli-recommender@champion")
    parser.add_argument("--residents", type=int, default=20_000, help="size to train when no --tracking-uri")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", default="1,2", help="numbers of worker processes, comma-separated")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reload", action="store_true", help="POST /models/reload half-way through each run")
    parser.add_argument("--folder", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument(
        "--rate-limits",
        nargs="*",
        metavar="STORE",
        help="only measure the rate limiter's cost per request on these stores (memory, sqlite:///F, "
        "redis://…, postgresql+psycopg://…)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if args.rate_limits:
        print(
            json.dumps(
                {
                    "cores": os.cpu_count(),
                    "load_average": os.getloadavg()[0],
                    "per_request": rate_limit_cost(args.rate_limits),
                },
                indent=2,
            )
        )
        return
    with tempfile.TemporaryDirectory(prefix="linli-throughput-") as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        uri = args.tracking_uri or _train(args.residents, folder, args.seed)
        report = run(
            uri,
            folder,
            workers=[int(n) for n in args.workers.split(",")],
            seconds=args.seconds,
            concurrency=args.concurrency,
            reload=args.reload,
        )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
