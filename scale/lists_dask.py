"""Every resident's stored lists, scored per bucket on the workers with the one list writer.

The local engine writes a version's lists with :func:`training.batch_lists.write_lists`: the bundle's residents
split into list buckets by :func:`scale.buckets.bucket_of` of their (pseudonymous) id, one
:func:`~training.batch_lists.write_bucket` call per bucket, then the manifest. The dask engine runs the same
:func:`~training.batch_lists.write_bucket` per list bucket on the workers, with the refitted bundle sent to every
worker once, and gathers the files into one folder with the same manifest:

1. Each training bucket names its residents that the bundle knows, with their internal id and list bucket.
   (Training buckets hash the raw id as read from the files; list buckets hash the id the bundle knows, a
   pseudonym when ``LINLI_PSEUDONYM_KEY`` is set, so residents move once more: ids only, one shuffle.)
2. Per list bucket, the residents in the bundle's internal order (the order ``write_lists`` scores them in, so
   the batches and the files are the same) are scored and written on a worker into its own scratch folder; the
   file's bytes come back with its manifest entry. No folder has to be shared between the machines.
3. The client writes each file as it arrives, checks its SHA-256 against the entry, and writes the manifest.

The number of list buckets is the local engine's (``write_lists``'s default for the bundle's residents), so the
folder serving opens is the one the local engine stores for the same model.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, Future, as_completed

from features.columns import Columns as C
from scale.buckets import BUCKET, ROW, bucket_of, default_buckets
from scale.cluster import RETRIES
from scale.engine import Bucket, to_buckets
from training.batch_lists import LIST_DEPTH, LIST_K, sha256_of, write_bucket, write_manifest
from training.bundle import ModelBundle

_META = pd.DataFrame({C.RESIDENT: pd.Series(dtype=object), ROW: pd.Series(dtype=np.int64),
                      BUCKET: pd.Series(dtype=np.int64)})


def bucket_residents(bucket: Bucket) -> np.ndarray:
    """The resident ids a training bucket holds (small: kept after the bucket's data is released)."""
    return bucket.dataset.residents[C.RESIDENT].to_numpy(dtype=object)


def _known(ids: np.ndarray, bundle: ModelBundle, n_lists: int) -> pd.DataFrame:
    """The ids the bundle knows (erased residents are not), their internal id and their list bucket."""
    internal = np.asarray(bundle.model.resident_ids_.to_internal(ids, strict=False), dtype=np.int64)
    keep = internal >= 0
    known = ids[keep]
    return pd.DataFrame({C.RESIDENT: known, ROW: internal[keep], BUCKET: bucket_of(known, n_lists)})


def _files(entry: dict[str, Any]) -> dict[str, str]:
    """File name → SHA-256 of every file a bucket's entry names: its lists and, when written, its rule inputs."""
    named = {entry["file"]: entry["sha256"]}
    if "rules" in entry:
        named[entry["rules"]["file"]] = entry["rules"]["sha256"]
    return named


def _written(rows: pd.DataFrame, bundle: ModelBundle, bucket: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    """One list bucket scored and written (by :func:`write_bucket`) in a scratch folder: its entry and the bytes
    of every file it names (the lists and the rule inputs)."""
    ids = [str(r) for r in rows.sort_values(ROW, kind="stable")[C.RESIDENT]]
    with tempfile.TemporaryDirectory(prefix="linli-lists-") as scratch:
        entry = write_bucket(bundle, ids, bucket, Path(scratch))
        return entry, {name: (Path(scratch) / name).read_bytes() for name in _files(entry)}


def write_lists_on_cluster(client: Client, residents: list[Future], bundle: Future, n_residents: int,
                           services: int, folder: Path) -> Path:
    """Write every known resident's lists into ``folder``, one list bucket per task; returns the manifest's path.

    Parameters
    ----------
    client : distributed.Client
    residents : list of distributed.Future
        Per training bucket, the ids it holds (:func:`bucket_residents`); together every resident once.
    bundle : distributed.Future
        The refitted bundle (the version's model), sent once to each worker that scores.
    n_residents : int
        Residents the bundle knows (``len(bundle.resident_ids())``): sets the number of list buckets.
    services : int
        Services of the bundle's catalogue (``len(bundle.service_ids())``), for the manifest.
    folder : Path
        Where the files and ``manifest.json`` go (created).

    Raises
    ------
    OSError
        A file arrived with another SHA-256 than its entry names.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n_lists = default_buckets(n_residents, 1)  # write_lists's own default for the bundle's residents
    known = dask.delayed(_known)
    frame = dd.from_delayed([known(ids, bundle, n_lists) for ids in residents], meta=_META, verify_meta=False)
    write = dask.delayed(_written, pure=False)
    tasks = [write(part, bundle, b) for b, part in enumerate(to_buckets(frame, n_lists))]
    entries = []
    for _, (entry, files) in as_completed(client.compute(tasks, retries=RETRIES), with_results=True):
        for name, sha256 in _files(entry).items():
            path = folder / name
            path.write_bytes(files[name])
            os.chmod(path, 0o600)
            if sha256_of(path) != sha256:
                raise OSError(f"{path}: the bytes received differ from the SHA-256 the worker wrote")
        entries.append(entry)
    return write_manifest(folder, entries, k=LIST_K, depth=LIST_DEPTH, n_buckets=n_lists, services=services)
