"""Resident buckets: a stable hash of the resident id decides the bucket, so each resident's rows meet once.

The hash is SipHash-2-4 under a fixed key (:func:`pandas.util.hash_array` with :data:`HASH_KEY`) of the id's
UTF-8 text. Unlike Python's ``hash`` it is not salted per process: every worker, every run and every machine
puts a resident in the same bucket, so residents and their interactions, read from different files by
different workers, are moved to the same bucket in one shuffle.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The SipHash key (16 bytes). Changing it moves every resident to another bucket.
HASH_KEY = "linli-buckets-01"
#: Column holding the bucket of a row while data is shuffled.
BUCKET = "_bucket"
#: Column holding a row's position in its whole table (part order), to restore the order inside a bucket.
ROW = "_row"


def resident_hash(resident_ids: pd.Series | np.ndarray | list[str]) -> np.ndarray:
    """The stable 64-bit hash of each resident id (ids are compared as text: ``101`` and ``"101"`` agree).

    Parameters
    ----------
    resident_ids : array-like
        External resident ids; missing ids hash like the empty string.

    Returns
    -------
    numpy.ndarray
        ``uint64`` per id.
    """
    text = pd.Series(resident_ids, dtype=object).fillna("").astype(str).to_numpy(dtype=object)
    return pd.util.hash_array(text, hash_key=HASH_KEY, categorize=False)


def bucket_of(resident_ids: pd.Series | np.ndarray | list[str], n_buckets: int) -> np.ndarray:
    """Bucket (``0 .. n_buckets - 1``) of each resident id.

    Raises
    ------
    ValueError
        ``n_buckets`` is below 1.
    """
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be at least 1, got {n_buckets}")
    return (resident_hash(resident_ids) % np.uint64(n_buckets)).astype(np.int64)


def with_bucket(frame: pd.DataFrame, column: str, n_buckets: int, first_row: int = 0) -> pd.DataFrame:
    """``frame`` with :data:`BUCKET` (from ``column``) and :data:`ROW` (``first_row`` + position) added."""
    out = frame.copy()
    out[BUCKET] = bucket_of(frame[column], n_buckets)
    out[ROW] = np.arange(first_row, first_row + len(frame), dtype=np.int64)
    return out


def default_buckets(n_residents: int, n_workers: int, residents_per_bucket: int = 50_000) -> int:
    """Buckets for a community: about ``residents_per_bucket`` residents each, at least two per worker."""
    return max(2 * max(n_workers, 1), -(-n_residents // residents_per_bucket))
