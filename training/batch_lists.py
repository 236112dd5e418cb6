"""Every resident's ranked list, scored once in training and stored with the version as Arrow IPC files.

A version's lists are a folder: one uncompressed Arrow IPC file per resident bucket (``lists-00000.arrow`` …,
the bucket from :func:`scale.buckets.bucket_of`), rows sorted by :func:`scale.buckets.resident_hash`, and
``manifest.json`` naming each file with its rows and SHA-256. Serving memory-maps the files
(:mod:`serving.list_store`): a lookup is a binary search in the hash column, so a process holds no Python
object per resident and every process on a machine shares the page cache's one copy.

Each row is one resident (:data:`SCHEMA`): the first ``k`` services are ``recommend(k)`` exactly, with the
ranker's key factors in their explanations; the ``depth`` services after them are the exploration pool, ranked
as ``recommend(k + depth)`` ranks them and explained by their checkable reasons only.

:func:`write_bucket` scores and writes one bucket and is all an engine calls per bucket;
:func:`write_lists` runs every bucket here and writes the manifest (see docs/serving.md).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from features.columns import Columns as C
from recommenders.base import SCORE
from scale.buckets import bucket_of, default_buckets, resident_hash
from training import rule_inputs
from training.bundle import ModelBundle

FORMAT: Final = 1
MANIFEST: Final = "manifest.json"
#: Environment setting: processes that write lists (:func:`list_workers`).
WORKERS_ENV: Final = "LINLI_LIST_WORKERS"
#: Services per list that ``recommend(k)`` answers exactly, and exploration-pool services stored after them.
LIST_K, LIST_DEPTH = 10, 10
#: Residents per ``recommend`` call (its memory grows with residents × services).
BATCH: Final = 1000
_TEXT = pa.dictionary(pa.int32(), pa.string())
SCHEMA: Final = pa.schema(
    [
        ("resident_hash", pa.uint64()),
        ("resident_id", pa.string()),
        ("prefers_offline", pa.bool_()),
        ("services", pa.list_(pa.int32())),
        ("scores", pa.list_(pa.float64())),
        ("explanation", pa.list_(_TEXT)),
        ("explanation_zh", pa.list_(_TEXT)),
    ]
)


def bucket_file(bucket: int) -> str:
    """File name of one bucket's lists."""
    return f"lists-{bucket:05d}.arrow"


def score_lists(
    bundle: ModelBundle, resident_ids: list[str], k: int, depth: int = 0, profile_rows: pd.DataFrame | None = None
) -> pa.Table:
    """Rank ``k + depth`` services for each resident and pack the lists as one :data:`SCHEMA` table (hash order).

    Parameters
    ----------
    bundle : ModelBundle
    resident_ids : list of str
        Known residents, or (with ``profile_rows``) residents the model has not seen.
    k : int
        Services explained in full (with the ranker's key factors).
    depth : int
        Exploration-pool services kept after them.
    profile_rows : pandas.DataFrame, optional
        Raw residents-table rows of unknown residents (cold start).

    Raises
    ------
    features.errors.DataValidationError
        If a profile row breaks the residents contract.
    features.errors.UnknownIdError
        If a resident is unknown and has no profile row.
    """
    frame = bundle.recommend(
        resident_ids, k + depth, explain=True, explain_factors=k if depth else None, profile_rows=profile_rows
    )
    return pack(frame, resident_ids, bundle.service_ids(), bundle.prefers_offline(resident_ids, profile_rows))


def pack(frame: pd.DataFrame, resident_ids: list[str], service_ids: pd.Index, prefers_offline: np.ndarray) -> pa.Table:
    """The :data:`SCHEMA` table of ``recommend`` output (rows in resident order, then rank), sorted by hash.

    Raises
    ------
    ValueError
        If ``frame`` does not follow ``resident_ids`` in order or names services outside ``service_ids``.
    """
    ids = pd.Index(np.asarray(resident_ids, dtype=object))
    rows = ids.get_indexer(frame[C.RESIDENT].to_numpy(dtype=object))
    if (rows < 0).any() or (np.diff(rows) < 0).any():
        raise ValueError("recommendations must cover the given residents, in their order")
    services = service_ids.get_indexer(frame[C.SERVICE].to_numpy(dtype=object)).astype(np.int32)
    if (services < 0).any():
        raise ValueError("recommendations name services the model does not know")
    hashes = resident_hash(ids.to_numpy())
    order = np.argsort(hashes, kind="stable")
    counts = np.bincount(rows, minlength=len(ids))
    starts = np.concatenate([[0], np.cumsum(counts)])
    take = np.concatenate([np.arange(starts[r], starts[r + 1]) for r in order]) if len(frame) else np.zeros(0, int)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts[order])]).astype(np.int32))

    def texts(column: str) -> pa.Array:
        values = frame[column].astype(str).to_numpy()[take] if column in frame else np.full(len(take), "")
        codes, uniques = pd.factorize(values)
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(uniques, pa.string()))

    columns = [
        pa.array(hashes[order], pa.uint64()),
        pa.array(ids.to_numpy()[order], pa.string()),
        pa.array(np.asarray(prefers_offline, dtype=bool)[order]),
        pa.ListArray.from_arrays(offsets, pa.array(services[take])),
        pa.ListArray.from_arrays(offsets, pa.array(frame[SCORE].to_numpy(dtype=np.float64)[take])),
        pa.ListArray.from_arrays(offsets, texts("explanation")),
        pa.ListArray.from_arrays(offsets, texts("explanation_zh")),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def write_bucket(
    bundle: ModelBundle,
    resident_ids: list[str],
    bucket: int,
    folder: Path,
    k: int = LIST_K,
    depth: int = LIST_DEPTH,
    batch: int = BATCH,
    *,
    rules: bool = True,
) -> dict[str, Any]:
    """Score one bucket's residents and write its file; returns its manifest entry.

    This is the unit of work of an engine: any process holding the bundle can write any bucket, and buckets
    never share a resident (call it with the residents whose :func:`scale.buckets.bucket_of` is ``bucket``).
    With ``rules``, the residents' rule inputs are written beside it too (:mod:`training.rule_inputs`, same rows).

    Returns
    -------
    dict
        ``{"file", "bucket", "rows", "sha256"}`` for :func:`write_manifest`, and ``"rules": {"file", "sha256"}``.
    """
    parts = [score_lists(bundle, resident_ids[i : i + batch], k, depth) for i in range(0, len(resident_ids), batch)]
    table = pa.concat_tables(parts).unify_dictionaries().combine_chunks() if parts else SCHEMA.empty_table()
    if len(parts) > 1:  # each batch is in hash order; the bucket must be too
        table = table.take(pa.array(np.argsort(table.column("resident_hash").to_numpy(), kind="stable")))
        table = table.unify_dictionaries().combine_chunks()
    path = _write_private(table, Path(folder) / bucket_file(bucket))
    entry: dict[str, Any] = {"file": path.name, "bucket": bucket, "rows": len(table), "sha256": sha256_of(path)}
    if rules:
        ids = np.asarray(table.column("resident_id").to_pylist(), dtype=object)
        inputs = rule_inputs.compute(bundle, ids).to_table(table.column("resident_hash").to_numpy())
        written = _write_private(inputs, Path(folder) / rule_inputs.rules_file(bucket))
        entry["rules"] = {"file": written.name, "sha256": sha256_of(written)}
    return entry


def _write_private(table: pa.Table, path: Path) -> Path:
    """Write ``table`` as one record batch (one binary search per lookup), atomically and private to the owner."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with pa.OSFile(str(partial), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(len(table), 1))
    os.chmod(partial, 0o600)  # pseudonymous ids: private, as the bundle's files are
    os.replace(partial, path)
    return path


def write_manifest(
    folder: Path, entries: list[dict[str, Any]], *, k: int, depth: int, n_buckets: int, services: int
) -> Path:
    """Write ``manifest.json`` for the bucket files in ``folder`` (after every :func:`write_bucket`)."""
    buckets = sorted(e["bucket"] for e in entries)
    if buckets != list(range(n_buckets)):
        raise ValueError(f"lists need one file per bucket 0..{n_buckets - 1}; got buckets {buckets}")
    manifest = {
        "format": FORMAT,
        "k": k,
        "depth": depth,
        "n_buckets": n_buckets,
        "services": services,
        "hash": "scale.buckets.resident_hash",
        "residents": int(sum(e["rows"] for e in entries)),
        "files": sorted(entries, key=lambda e: e["bucket"]),
    }
    path = Path(folder) / MANIFEST
    path.write_text(json.dumps(manifest, indent=1))
    os.chmod(path, 0o600)
    return path


def write_lists(
    bundle: ModelBundle,
    folder: Path,
    k: int = LIST_K,
    depth: int = LIST_DEPTH,
    n_buckets: int | None = None,
    batch: int = BATCH,
    workers: int | None = None,
) -> Path:
    """Score every resident the bundle knows, bucket by bucket, into ``folder``; returns the manifest's path.

    Parameters
    ----------
    workers : int, optional
        Processes writing buckets at once (:func:`list_workers`, default ``LINLI_LIST_WORKERS`` or the cores);
        1 writes them one after another in this process. The files are the same either way.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    residents = bundle.resident_ids().to_numpy(dtype=object)
    n_buckets = n_buckets or default_buckets(len(residents), 1)
    buckets = bucket_of(residents, n_buckets)
    jobs = [([str(r) for r in residents[buckets == b]], b) for b in range(n_buckets)]
    workers = min(workers or list_workers(), n_buckets)
    if workers <= 1:
        entries = [write_bucket(bundle, ids, b, folder, k, depth, batch) for ids, b in jobs]
    else:  # each process unpickles the bundle once (initializer), then takes buckets as they come
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent (MLflow, BLAS)
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_hold, initargs=(bundle,)) as pool:
            entries = list(pool.map(_write_held, [(ids, b, folder, k, depth, batch) for ids, b in jobs]))
    return write_manifest(folder, entries, k=k, depth=depth, n_buckets=n_buckets, services=len(bundle.service_ids()))


def list_workers() -> int:
    """Processes :func:`write_lists` uses: ``LINLI_LIST_WORKERS`` when set, else the machine's cores.

    Raises
    ------
    ValueError
        If ``LINLI_LIST_WORKERS`` is not a whole number of at least 1.
    """
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return os.cpu_count() or 1
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{WORKERS_ENV}={raw!r}: set it to the number of processes that write lists (1 or more)")
    return int(raw)


_HELD: list[ModelBundle] = []


def _hold(bundle: ModelBundle) -> None:
    """Pool initializer: keep the bundle this worker process writes lists with."""
    _HELD[:] = [bundle]


def _write_held(job: tuple[list[str], int, Path, int, int, int]) -> dict[str, Any]:
    ids, bucket, folder, k, depth, batch = job
    return write_bucket(_HELD[0], ids, bucket, folder, k, depth, batch)


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


__all__ = [
    "LIST_DEPTH",
    "LIST_K",
    "MANIFEST",
    "SCHEMA",
    "WORKERS_ENV",
    "bucket_file",
    "list_workers",
    "pack",
    "score_lists",
    "sha256_of",
    "write_bucket",
    "write_lists",
    "write_manifest",
]
