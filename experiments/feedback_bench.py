"""Benchmark of feedback ingestion straight into the store (no HTTP): acknowledged events per second, zero loss.

Served lists are logged first (timed apart), then ``--events`` feedback events are sent in batches of
``--batch`` from ``--threads`` threads. An event counts as acknowledged when its ``add_events`` call has
returned (committed durably). At the end the rows the store holds are compared with the events acknowledged.

Run: ``python -m experiments.feedback_bench --url sqlite:///data/feedback_bench.db --events 50000 --batch 500``
(PostgreSQL: ``--url postgresql+psycopg://postgres@127.0.0.1:5432/test``; a throw-away schema is used and dropped).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from features.columns import Vocab
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore

#: Share of each event kind in the generated feedback, weakest to strongest (mostly impressions, as in real logs).
EVENT_MIX = (0.50, 0.20, 0.15, 0.07, 0.05, 0.03)
EVENTS_PER_LIST = 25
ITEMS_PER_LIST = 10


def make_feedback(n_events: int, seed: int = 0) -> tuple[list[ServedList], list[FeedbackEvent]]:
    """Served lists and ``n_events`` valid events referring to them, in the mix of :data:`EVENT_MIX`."""
    rng = np.random.default_rng(seed)
    n_lists = max(1, n_events // EVENTS_PER_LIST)
    lists = [ServedList(request_id=uuid.uuid4().hex, resident_id=f"R{i:07d}", model_version="1",
                        items=[ServedItem(service_id=f"S{(i + j) % 97:03d}", position=j + 1, score=1.0 / (j + 1))
                               for j in range(ITEMS_PER_LIST)])
             for i in range(n_lists)]
    which = rng.integers(0, n_lists, n_events)
    kinds = rng.choice(len(Vocab.EVENTS), size=n_events, p=EVENT_MIX)
    events = []
    for served_index, kind_index, slot in zip(which, kinds, rng.integers(0, ITEMS_PER_LIST, n_events), strict=True):
        served = lists[served_index]
        kind = Vocab.EVENTS[kind_index]
        events.append(FeedbackEvent(request_id=served.request_id, resident_id=served.resident_id,
                                    service_id=served.items[slot].service_id, event=kind,
                                    rating=float(rng.integers(1, 6)) if kind == "rate" else None,
                                    channel="online"))
    return lists, events


def run(url: str, n_events: int, batch: int, threads: int, schema: str | None = None) -> dict[str, object]:
    """Ingest ``n_events`` into the store at ``url``; return throughput, batch latencies and the loss check."""
    lists, events = make_feedback(n_events)
    batches = [events[i:i + batch] for i in range(0, len(events), batch)]
    with FeedbackStore(url, schema=schema) as store:
        store.create_schema()
        before = store.count_events()
        start = time.perf_counter()
        for i in range(0, len(lists), 500):
            store.log_served_many(lists[i:i + 500])
        served_s = time.perf_counter() - start
        latencies: list[float] = []

        def send(chunk: list[FeedbackEvent]) -> int:
            began = time.perf_counter()
            stored = store.add_events(chunk)
            latencies.append(time.perf_counter() - began)
            return stored

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            acknowledged = sum(pool.map(send, batches))
        elapsed = time.perf_counter() - start
        stored = store.count_events() - before
    ms = np.asarray(latencies) * 1000
    return {
        "url": sa.make_url(url).render_as_string(hide_password=True), "events": n_events, "batch": batch,
        "threads": threads, "served_lists": len(lists), "served_lists_per_s": round(len(lists) / served_s),
        "seconds": round(elapsed, 3), "events_per_s": round(acknowledged / elapsed),
        "batch_ms_p50": round(float(np.percentile(ms, 50)), 2), "batch_ms_p99": round(float(np.percentile(ms, 99)), 2),
        "acknowledged": acknowledged, "stored": stored, "zero_loss": stored == acknowledged,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Command-line entry point; prints the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="store URL; default a fresh SQLite file in a temporary folder")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1, help="concurrent senders")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'feedback_bench.db'}"
        postgres = sa.make_url(url).get_backend_name() == "postgresql"
        schema = f"linli_bench_{uuid.uuid4().hex[:10]}" if postgres else None
        try:
            result = run(url, args.events, args.batch, args.threads, schema)
        finally:
            if schema:
                engine = sa.create_engine(url)
                with engine.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                engine.dispose()
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
