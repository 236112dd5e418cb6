"""Benchmark of ``POST /requests`` over loopback: latency of free-text requests, anonymous and from known residents.

The server runs as its own process (``uvicorn``, one worker, as ``linli serve`` runs it; the set-up of
:mod:`experiments.latency_bench`); this script is the client, in a second process. Each request is stored in the
feedback store (SQLite, durable) before its answer leaves, so the figures include that write.

1. anonymous: sequential requests with a community and no resident, on one keep-alive connection (p50, p99);
2. known residents, first request: every request from a different resident (their rules' inputs are
   stored with the version's lists, so a first request costs what a repeated one does);
3. known residents, again: the same residents once more;
4. throughput: ``--concurrency`` client threads for ``--seconds`` (requests/s, p50, p99, errors).

Run (a trained registry, e.g. from ``linli train``)::

    python -m experiments.requests_api_bench --tracking-uri sqlite:///data/mlflow.db
    python -m experiments.requests_api_bench --residents 100000   # generate + train a registry first
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from experiments.latency_bench import (
    KEY,
    _percentiles,
    _resident_ids,
    _run_threads,
    _train,
    bench_env,
    champion_bundle,
    server,
)

#: Requests in the registers residents use: elderly spoken style, hurried parents, migrant workers, typos,
#: traditional characters, pinyin, mixed English and complaints.
TEXTS = (
    "我妈八十多了腿脚不利索，中午没人给她做饭", "老伴走了一个人在家，想找人上门陪陪说说话", "孩子放学没人接怎么办",
    "下午四点半娃放学我还在上班，有没有托管", "刚来这边打工，暂住证去哪办", "办居住証要带什么材料", "想找个零工干干",
    "家里水管漏水了能不能上门修", "jiazheng ayi duoshao qian yi xiaoshi", "我想预约 vaccine 打疫苗",
    "社區有沒有老年大學", "失业了想登记领补贴", "楼上天天半夜装修吵得睡不着", "有人打电话说我医保卡异常要转账",
    "想给孩子报个书法班", "轮椅坏了能租一个吗", "社保断缴了怎么补", "晚上想去打篮球在哪预约", "快递放哪里取",
    "老人想体检，免费的那种",
)


def _communities(tracking_uri: str) -> list[str]:
    """Community ids of the served model's segment report."""
    return [str(c) for c in champion_bundle(tracking_uri).profile.reports.community.index]


def sequential(url: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """``bodies`` posted one after another on one keep-alive connection."""
    times, errors = [], 0
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=30) as client:
        for body in bodies:
            start = time.perf_counter()
            response = client.post("/requests", json=body)
            times.append(time.perf_counter() - start)
            errors += response.status_code != 200
    return {"requests": len(bodies), "errors": errors, **_percentiles(times)}


def throughput(url: str, residents: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    """Requests of known residents from ``concurrency`` threads for ``seconds``."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def work() -> None:
        local_t, local_e = [], 0
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=30) as client:
            while time.perf_counter() < deadline:
                body = {"resident_id": random.choice(residents), "text": random.choice(TEXTS)}
                start = time.perf_counter()
                response = client.post("/requests", json=body)
                local_t.append(time.perf_counter() - start)
                local_e += response.status_code != 200
        with lock:
            times.extend(local_t)
            errors[0] += local_e

    wall = _run_threads(work, concurrency)
    return {"concurrency": concurrency, "seconds": round(wall, 1), "requests": len(times), "errors": errors[0],
            "requests_per_s": round(len(times) / wall, 1), **_percentiles(times)}


def run(tracking_uri: str, folder: Path, *, requests: int, seconds: float, concurrency: int) -> dict[str, Any]:
    """Anonymous, first and repeated known-resident latency, then throughput, against one registry."""
    env = bench_env(tracking_uri, folder)
    rng = random.Random(0)
    residents = _resident_ids(tracking_uri)
    communities = _communities(tracking_uri)
    chosen = rng.sample(residents, min(requests, len(residents)))
    report: dict[str, Any] = {"cores": os.cpu_count(), "residents": len(residents), "texts": len(TEXTS),
                              "load_average_before": os.getloadavg()[0]}
    with server(env) as running:
        url = running["url"]
        sequential(url, [{"community_id": communities[0], "text": t} for t in TEXTS])  # warm-up
        report["anonymous"] = sequential(url, [{"community_id": rng.choice(communities), "text": rng.choice(TEXTS)}
                                               for _ in range(requests)])
        known = [{"resident_id": r, "text": rng.choice(TEXTS)} for r in chosen]
        report["known_first"] = sequential(url, known)
        report["known_again"] = sequential(url, known)
        report["throughput"] = throughput(url, chosen, seconds, concurrency)
    report["load_average_after"] = os.getloadavg()[0]
    return report


def main(argv: list[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", help="registry holding linli-recommender@champion")
    parser.add_argument("--residents", type=int, default=100_000, help="size to train when no --tracking-uri")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per step")
    parser.add_argument("--seconds", type=float, default=20, help="length of the throughput run")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--folder", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="linli-requests-") as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        uri = args.tracking_uri or _train(args.residents, folder, args.seed)
        report = run(uri, folder, requests=args.requests, seconds=args.seconds, concurrency=args.concurrency)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
