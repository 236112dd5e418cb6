"""The list store alone at city size: open time, RSS and lookup latency of memory-mapped lists of N residents.

Part of :mod:`experiments.latency_bench` (``--store-residents N``). Scoring a million residents' lists takes
hours on two cores, so this step measures the store, not the model: it takes a registered version's real stored
lists and writes them again under ``N`` new resident ids (row ``i`` is a copy of stored row ``i mod n``), bucketed
and hash-sorted as :mod:`training.batch_lists` writes them. Then a fresh process opens them with
:meth:`serving.list_store.ListStore.open` (checksums included) and answers random lookups with
:func:`serving.ranked.cut` and the version's own rules, as a request does.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from scale.buckets import bucket_of, default_buckets, resident_hash
from training.batch_lists import MANIFEST, SCHEMA, bucket_file, sha256_of, write_manifest


def replicate(source: Path, residents: int, out: Path) -> dict[str, Any]:
    """Write the lists in ``source`` again for ``residents`` new ids into ``out``; returns the manifest."""
    manifest = json.loads((source / MANIFEST).read_text())
    stored = (
        pa.concat_tables([ipc.open_file(pa.memory_map(str(source / e["file"]))).read_all() for e in manifest["files"]])
        .unify_dictionaries()
        .combine_chunks()
    )
    ids = np.array([f"S{i:08d}" for i in range(residents)], dtype=object)
    n_buckets = default_buckets(residents, 1)
    buckets, hashes = bucket_of(ids, n_buckets), resident_hash(ids)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for bucket in range(n_buckets):
        rows = np.flatnonzero(buckets == bucket)
        rows = rows[np.argsort(hashes[rows], kind="stable")]
        table = stored.take(pa.array(rows % stored.num_rows))
        table = table.set_column(0, "resident_hash", pa.array(hashes[rows], pa.uint64()))
        table = table.set_column(1, "resident_id", pa.array(ids[rows], pa.string()))
        path = out / bucket_file(bucket)
        with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, SCHEMA) as writer:
            writer.write_table(table.combine_chunks(), max_chunksize=len(table))
        entries.append({"file": path.name, "bucket": bucket, "rows": len(table), "sha256": sha256_of(path)})
    write_manifest(
        out, entries, k=manifest["k"], depth=manifest["depth"], n_buckets=n_buckets, services=manifest["services"]
    )
    return json.loads((out / MANIFEST).read_text())


def measure(folder: Path, tracking_uri: str, model: str, lookups: int = 20_000) -> dict[str, Any]:
    """Run :func:`_measure_here` in a fresh process (so its RSS is the store's and the bundle's alone)."""
    done = subprocess.run(
        [sys.executable, "-m", "experiments.list_store_scale", str(folder), tracking_uri, model, str(lookups)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _measure_here(folder: Path, tracking_uri: str, model: str, lookups: int) -> dict[str, Any]:
    from experiments.latency_bench import champion_bundle
    from serving.list_store import ListStore
    from serving.ranked import cut

    rules = champion_bundle(tracking_uri, model).rules()
    before = {"rss_mib": _status("VmRSS"), "rss_anon_mib": _status("RssAnon")}
    manifest = json.loads((folder / MANIFEST).read_text())
    started = time.perf_counter()
    store = ListStore.open(folder, sha256_of(folder / MANIFEST), manifest["residents"], manifest["services"])
    opened = time.perf_counter() - started
    after_open = {"rss_mib": _status("VmRSS"), "rss_anon_mib": _status("RssAnon")}
    pick = random.Random(1)
    times = []
    for _ in range(lookups):
        resident = f"S{pick.randrange(manifest['residents']):08d}"
        start = time.perf_counter()
        place = store.locate(resident)
        if place is None:
            raise RuntimeError(f"{resident} has no list")
        cut(*place, 10, None, rules)
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "residents": len(store),
        "files": len(store.files),
        "file_mib": round(store.nbytes / 2**20, 1),
        "open_seconds": round(opened, 2),
        "rss_before_open": before,
        "rss_after_open": after_open,
        "rss_after_lookups": {
            "rss_mib": _status("VmRSS"),
            "rss_anon_mib": _status("RssAnon"),
            "rss_file_mib": _status("RssFile"),
        },
        "lookup_p50_ms": round(times[len(times) // 2] * 1000, 3),
        "lookup_p99_ms": round(times[int(0.99 * len(times))] * 1000, 3),
        "lookup_mean_ms": round(statistics.fmean(times) * 1000, 3),
    }


if __name__ == "__main__":
    print(json.dumps(_measure_here(Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]))))
