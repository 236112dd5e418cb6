"""Benchmark of the recommendation API over loopback: start-up, reload, memory, latency, throughput and feedback.

The server runs as its own process tree (``linli serve --workers N``); this script is the client, in a second
process. For a given registry (or a size to train, or a ``--folder`` that already holds one):

1. start-up: time until ``/ready`` (first start, then a restart); the lists and the rules' inputs come with the
   version (training stored them, :mod:`training.batch_lists`), so a start maps them and scores nothing; peak RSS
   of the server;
2. on the second server — reload: ``POST /models/reload`` until it answers (the new lists opened beside the old,
   then swapped; the version is ready when it answers); RSS after start and after reload, split into anonymous
   memory and mapped-file pages (shared by every process of the machine); latency: sequential
   ``GET /recommendations/{id}?k=10`` on one keep-alive connection (p50, p99);
3. throughput: ``--concurrency`` client threads for ``--seconds`` (requests/s, p50, p99, errors);
4. feedback: batches of ``--batch`` events on lists served in step 3, from ``--concurrency`` threads
   (events/s), then rows in the store compared with the events acknowledged (must be equal);
5. workers: for each N in ``--workers`` (default 1 and 2), ``linli serve --workers N``: time to ``/ready`` with every
   worker serving, RSS of each process, throughput with ``--concurrency`` threads, then a second run with a
   ``POST /models/reload`` half-way through (every error counts: "errors": 0 means the reload dropped nothing).

Run (a trained registry, e.g. from ``linli train``)::

    python -m experiments.latency_bench --tracking-uri sqlite:///data/mlflow.db
    python -m experiments.latency_bench --residents 100000 --folder /tmp/bench-100k --train-only  # train once
    python -m experiments.latency_bench --residents 100000 --folder /tmp/bench-100k   # reuses the folder's registry
    python -m experiments.latency_bench --tracking-uri sqlite:///data/mlflow.db --store-residents 100000 1000000

``--store-residents`` measures the list store alone at those sizes (:mod:`experiments.list_store_scale`).
:mod:`experiments.throughput_bench` and :mod:`experiments.requests_api_bench` use the same server set-up
(:func:`bench_env`, :func:`server`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from experiments.local_server import free_port, stop, wait_ready

KEY = "bench-platform-key"
ADMIN_KEY = "bench-admin-key"
MODEL = "linli-recommender"


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children(pid: int) -> list[int]:
    """Every descendant (children of all threads: the precompute pool starts from the loading thread)."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids + [g for k in kids for g in _children(k)]


def bench_env(tracking_uri: str, folder: Path, **extra: str) -> dict[str, str]:
    """Environment of a benchmark server: the registry, the keys, its own feedback store and data in ``folder``."""
    return {"LINLI_MLFLOW_TRACKING_URI": tracking_uri, "LINLI_MODEL_NAME": MODEL, "LINLI_DATA_DIR": str(folder),
            "LINLI_API_KEYS": f"platform:{KEY},admin:{ADMIN_KEY}",
            "LINLI_DATABASE_URL": f"sqlite:///{folder / 'feedback.db'}", "LINLI_CACHE_DIR": str(folder / "cache"),
            "LINLI_RATE_LIMIT_PLATFORM": "1000000", "OPENBLAS_NUM_THREADS": "1", **extra}


@contextmanager
def server(env: dict[str, str], workers: int = 1, ready_timeout: float = 3600) -> Iterator[dict[str, Any]]:
    """Run ``linli serve --workers N`` in a subprocess; yield its url, pid and start-up figures once ``/ready``
    says 200 and every worker serves. Its log goes to ``<LINLI_DATA_DIR>/serve-<N>-<port>.log``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(env.get("LINLI_DATA_DIR", tempfile.gettempdir())) / f"serve-{workers}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "linli", "serve", "--port", str(port), "--workers",
                                 str(workers)], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    started, tree_peak = time.perf_counter(), 0

    def sample() -> None:
        nonlocal tree_peak
        tree_peak = max(tree_peak, _rss_kib(proc.pid) + sum(_rss_kib(c) for c in _children(proc.pid)))

    try:
        wait_ready(url, proc, ready_timeout, log, on_poll=sample, interval=0.5)
        deadline = time.monotonic() + ready_timeout
        while workers > 1 and _serving_workers(url) < workers and time.monotonic() < deadline:
            sample()
            time.sleep(0.5)
        yield {"url": url, "pid": proc.pid, "ready_seconds": round(time.perf_counter() - started, 1),
               "startup_tree_peak_rss_mib": round(tree_peak / 1024, 1)}
    finally:
        stop(proc, grace=30)


def _serving_workers(url: str) -> int:
    """How many worker processes report a served version in ``/metrics``."""
    text = httpx.get(f"{url}/metrics", headers={"X-API-Key": ADMIN_KEY}, timeout=30).text
    return sum(1 for line in text.splitlines() if line.startswith("linli_served_model_version{"))


def _run_threads(work: Callable[[], None], concurrency: int) -> float:
    """Run ``work`` in ``concurrency`` threads at once; return the wall seconds until all finished."""
    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.50), 2), "p99_ms": round(pick(0.99), 2), "mean_ms": round(
        statistics.fmean(ordered) * 1000, 2)}


def sequential_latency(url: str, residents: list[str], n: int) -> dict[str, Any]:
    """``n`` GETs one after another on one keep-alive connection."""
    times, errors = [], 0
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=30) as client:
        for i in range(n + 50):
            start = time.perf_counter()
            response = client.get(f"/recommendations/{random.choice(residents)}", params={"k": 10})
            elapsed = time.perf_counter() - start
            errors += response.status_code != 200
            if i >= 50:  # warm-up
                times.append(elapsed)
    return {"requests": n, "errors": errors, **_percentiles(times)}


def throughput(url: str, residents: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    """GETs from ``concurrency`` threads for ``seconds``; also keeps request ids for the feedback step."""
    times: list[float] = []
    served: list[tuple[str, str, str]] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def work() -> None:
        local_t, local_s, local_e = [], [], 0
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=30) as client:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = client.get(f"/recommendations/{random.choice(residents)}", params={"k": 10})
                local_t.append(time.perf_counter() - start)
                if response.status_code != 200:
                    local_e += 1
                    continue
                body = response.json()
                if body["data"]:
                    local_s.append((body["request_id"], body["resident_id"], body["data"][0]["service_id"]))
        with lock:
            times.extend(local_t)
            served.extend(local_s)
            errors[0] += local_e

    wall = _run_threads(work, concurrency)
    return {"concurrency": concurrency, "seconds": round(wall, 1), "requests": len(times), "errors": errors[0],
            "requests_per_s": round(len(times) / wall, 1), **_percentiles(times), "_served": served}


def feedback(url: str, served: list[tuple[str, str, str]], events: int, batch: int, concurrency: int
             ) -> dict[str, Any]:
    """POST ``events`` click events in batches; count what the API acknowledged."""
    batches = [[{"request_id": r, "resident_id": who, "service_id": s, "event": "click"}
                for r, who, s in random.choices(served, k=batch)] for _ in range(max(1, events // batch))]
    acknowledged, errors = [0], [0]
    lock = threading.Lock()
    queue = iter(batches)

    def work() -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as client:
            while True:
                with lock:
                    body = next(queue, None)
                if body is None:
                    return
                response = client.post("/feedback", json={"events": body})
                with lock:
                    if response.status_code == 201:
                        acknowledged[0] += response.json()["stored"]
                    else:
                        errors[0] += 1

    wall = _run_threads(work, concurrency)
    return {"batch": batch, "concurrency": concurrency, "acknowledged": acknowledged[0], "errors": errors[0],
            "seconds": round(wall, 2), "events_per_s": round(acknowledged[0] / wall, 1)}


def _memory(pid: int) -> dict[str, float]:
    """RSS of a process in MiB: total, anonymous (its own) and file pages (mapped lists, shared between processes)."""
    return {f"{field.lower()}_mib": round(_rss_kib(pid, field) / 1024, 1) for field in ("VmRSS", "RssAnon", "RssFile")}


def reload_seconds(url: str) -> float:
    """Seconds ``POST /models/reload`` takes to answer 200 (the version's lists opened and swapped in)."""
    answer = reload(url)
    if answer["status"] != 200:
        raise RuntimeError(f"POST /models/reload answered {answer['status']}")
    return float(answer["seconds"])


def reload(url: str) -> dict[str, Any]:
    """``POST /models/reload``: its status and the seconds until it answered."""
    started = time.perf_counter()
    response = httpx.post(f"{url}/models/reload", headers={"X-API-Key": ADMIN_KEY}, timeout=600)
    return {"status": response.status_code, "seconds": round(time.perf_counter() - started, 2)}


def _tree_memory(pid: int) -> list[dict[str, Any]]:
    """:func:`_memory` of a server and each of its descendants (the worker processes with ``--workers N``)."""
    return [{"pid": p, **_memory(p)} for p in [pid, *_children(pid)] if _rss_kib(p)]


def workers_runs(tracking_uri: str, folder: Path, residents: list[str], *, workers: list[int], seconds: float,
                 concurrency: int, reload_too: bool = True) -> list[dict[str, Any]]:
    """For each N in ``workers``: ``linli serve --workers N`` (start, RSS per process, requests/s from
    ``concurrency`` threads), then, with ``reload_too``, the same load with a reload half-way through."""
    runs = []
    for n in workers:
        env = bench_env(tracking_uri, folder, LINLI_DATABASE_URL=f"sqlite:///{folder / f'feedback-{n}.db'}",
                        LINLI_LOG_JSON="true")
        with server(env, workers=n) as started:
            url = started["url"]
            throughput(url, residents, min(3.0, seconds), concurrency)  # warm-up
            run: dict[str, Any] = {"workers": n, "ready_seconds": started["ready_seconds"],
                                   "load_average_before": os.getloadavg()[0]}
            load = throughput(url, residents, seconds, concurrency)
            load.pop("_served")
            run["throughput"] = load
            run["rss_per_process"] = _tree_memory(started["pid"])
            if reload_too:
                answer: dict[str, Any] = {}
                timer = threading.Timer(seconds / 2, lambda a=answer, u=url: a.update(reload(u)))
                timer.start()
                under = throughput(url, residents, seconds, concurrency)
                timer.join()
                under.pop("_served")
                run["under_reload"] = {**under, "reload": answer}
            run["load_average_after"] = os.getloadavg()[0]
        runs.append(run)
    return runs


def _train(residents: int, folder: Path, seed: int) -> str:
    """The registry in ``folder``: reused when it already holds a champion, else trained on a synthetic community
    of ``residents`` (lists and rule inputs stored with the version)."""
    from mlflow import MlflowClient

    from features.sources.synthetic import generate_community
    from training.config import TrainConfig
    from training.retrain import train

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    # the artifact key the server reads, also when an earlier run's registry is reused
    os.environ.setdefault("LINLI_DATA_DIR", str(folder))
    if (folder / "mlflow.db").is_file():
        try:
            MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version_by_alias(MODEL, "champion")
            return uri
        except Exception:  # no champion yet: train one
            pass
    started = time.perf_counter()
    dataset = generate_community(residents=residents, seed=seed).dataset()
    result = train(dataset, tracking_uri=uri, model_name=MODEL, config=TrainConfig.from_toml().with_seed(seed),
                   artifact_location=(folder / "mlartifacts").as_uri())
    print(json.dumps({"residents": residents, "train_seconds": result.seconds,  # "lists": the time lists add
                      "wall_seconds": round(time.perf_counter() - started, 1), "load_average": os.getloadavg()}),
          file=sys.stderr)
    return uri


def run(tracking_uri: str, folder: Path, *, requests: int, seconds: float, concurrency: int, events: int,
        batch: int, durable: bool, workers: list[int]) -> dict[str, Any]:
    """Two starts, a reload, latency, throughput and feedback against one registry, then ``--workers N`` runs."""
    from serving.store import FeedbackStore

    env = bench_env(tracking_uri, folder, LINLI_SERVED_LOG_DURABLE=str(durable).lower())
    store_url = env["LINLI_DATABASE_URL"]
    report: dict[str, Any] = {"cores": os.cpu_count(), "served_log_durable": durable, "load_average": os.getloadavg()}
    with server(env) as first:
        report["first_start"] = _startup(first)
    with server(env) as second:
        url = second["url"]
        report["second_start"] = _startup(second)
        residents = _resident_ids(tracking_uri)
        report["residents"] = len(residents)
        report["rss_after_start"] = _memory(second["pid"])
        report["latency_after_start"] = sequential_latency(url, residents, requests)
        report["reload_seconds"] = reload_seconds(url)
        report["rss_after_reload"] = _memory(second["pid"])
        report["latency"] = sequential_latency(url, residents, requests)
        load = throughput(url, residents, seconds, concurrency)
        served = load.pop("_served")
        report["throughput"] = load
        before = FeedbackStore(store_url).count_events()
        report["feedback"] = feedback(url, served, events, batch, concurrency)
        stored = FeedbackStore(store_url).count_events() - before
        report["feedback"]["stored"] = stored
        report["feedback"]["lost"] = report["feedback"]["acknowledged"] - stored
        report["server_peak_rss_mib"] = round(_rss_kib(second["pid"], "VmHWM") / 1024, 1)
    if workers:
        report["workers"] = workers_runs(tracking_uri, folder, residents, workers=workers, seconds=seconds,
                                         concurrency=concurrency)
    report["load_average_after"] = os.getloadavg()
    return report


def _startup(started: dict[str, Any]) -> dict[str, Any]:
    """Start-up figures: time to ready, peak RSS of the process tree, and the server's own load report."""
    serving = httpx.get(f"{started['url']}/models", headers={"X-API-Key": ADMIN_KEY}).json()["serving"]
    return {"ready_seconds": started["ready_seconds"], "peak_rss_mib": started["startup_tree_peak_rss_mib"],
            **{k: serving[k] for k in ("version", "load_seconds", "open_seconds", "rule_inputs_stored", "residents",
                                       "list_length")}}


def champion_bundle(tracking_uri: str, model: str = MODEL) -> Any:
    """The bundle registered as ``<model>@champion`` (read from the registry, not from a server)."""
    import mlflow.artifacts
    import mlflow.pyfunc
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    version = client.get_model_version_by_alias(model, "champion").version
    with tempfile.TemporaryDirectory() as folder:
        local = mlflow.artifacts.download_artifacts(artifact_uri=client.get_model_version_download_uri(model, version),
                                                    dst_path=folder, tracking_uri=tracking_uri)
        return mlflow.pyfunc.load_model(local).unwrap_python_model().bundle


def _resident_ids(tracking_uri: str) -> list[str]:
    """Resident ids of the served model, from its precomputed-list cache-independent source: the registry."""
    return [str(r) for r in champion_bundle(tracking_uri).resident_ids()]


def store_scaling(tracking_uri: str, folder: Path, sizes: list[int], model: str = MODEL) -> dict[str, Any]:
    """The champion's stored lists written again for each size, then opened and looked up in a fresh process."""
    import shutil
    from urllib.parse import unquote, urlparse

    from mlflow import MlflowClient

    from experiments.list_store_scale import measure, replicate

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    run = client.get_run(str(client.get_model_version_by_alias(model, "champion").run_id))
    source = Path(unquote(urlparse(run.info.artifact_uri).path)) / "lists"
    report: dict[str, Any] = {"cores": os.cpu_count(), "load_average": os.getloadavg()}
    for size in sizes:
        target = folder / f"store-{size}"
        started = time.perf_counter()
        replicate(source, size, target)
        report[str(size)] = {"write_seconds": round(time.perf_counter() - started, 1),
                             **measure(target, tracking_uri, model)}
        shutil.rmtree(target)
    return report


def main(argv: list[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", help="registry holding linli-recommender@champion")
    parser.add_argument("--residents", type=int, default=100_000, help="size to train when no --tracking-uri")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=2000, help="sequential GETs")
    parser.add_argument("--seconds", type=float, default=20, help="length of the throughput run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--not-durable", action="store_true", help="log served lists without a disk flush")
    parser.add_argument("--folder", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--store-residents", type=int, nargs="+", help="only measure the list store at these sizes")
    parser.add_argument("--model", default=MODEL, help="registered model name (with --store-residents)")
    parser.add_argument("--workers", default="1,2", help="server processes per run of step 5, comma-separated "
                        "('' skips step 5)")
    parser.add_argument("--train-only", action="store_true", help="train (or find) the registry in --folder, stop")
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="linli-latency-") as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        uri = args.tracking_uri or _train(args.residents, folder, args.seed)
        if args.train_only:
            print(json.dumps({"tracking_uri": uri}))
            return
        if args.store_residents:
            print(json.dumps(store_scaling(uri, folder, args.store_residents, args.model), indent=2))
            return
        report = run(uri, folder, requests=args.requests, seconds=args.seconds, concurrency=args.concurrency,
                     events=args.events, batch=args.batch, durable=not args.not_durable,
                     workers=[int(n) for n in args.workers.split(",") if n.strip()])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
