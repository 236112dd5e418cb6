"""Erasure (PIPL art. 47) outside the store: the serving processes' view of the ledger, and datasets without
the erased residents (what ``linli train`` learns from).

The store side (deleting rows, writing the ledger) is :func:`serving.store_privacy.erase`; the ledger's table
is :mod:`privacy.ledger`. Both hold pseudonyms only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from features.dataset import Dataset


class ErasedResidents:
    """The erasure ledger as one server process sees it: a set re-read at most every ``refresh`` seconds.

    Erasures made through this process are seen at once (:meth:`add`); those made by other processes (another
    worker, ``linli erase``) within ``refresh`` seconds. A ledger that cannot be read keeps the last set.

    Parameters
    ----------
    load : callable
        Returns the ledger's pseudonyms (e.g. ``lambda: serving.store_privacy.erased(store)``).
    refresh : float
        Seconds between reads; 0 reads on every check.
    """

    def __init__(self, load: Callable[[], set[str]], refresh: float) -> None:
        self._load = load
        self._refresh = refresh
        self._ids: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def __contains__(self, resident_id: object) -> bool:
        return resident_id in self.current()

    def current(self) -> frozenset[str]:
        """The erased pseudonyms, re-read when the last read is older than ``refresh``."""
        if time.monotonic() - self._read_at >= self._refresh:
            with self._lock:
                if time.monotonic() - self._read_at >= self._refresh:
                    try:
                        self._ids = frozenset(self._load()) | self._ids
                    except Exception:  # the store is down: keep what is known; the next check retries
                        return self._ids
                    self._read_at = time.monotonic()
        return self._ids

    def add(self, resident_id: str) -> None:
        """Record an erasure made through this process (seen by it at once)."""
        with self._lock:
            self._ids = self._ids | {resident_id}


def without_residents(dataset: Dataset, erased: Collection[str]) -> tuple[Dataset, int]:
    """``dataset`` less the ``erased`` residents and their interactions, and how many residents went.

    The id maps are rebuilt, so a model trained on the result does not know them. Nothing is copied when none
    of them is in the dataset.
    """
    from features.columns import Columns as C
    from features.dataset import Dataset

    if not erased:
        return dataset, 0
    wanted = set(erased)
    gone = dataset.residents[C.RESIDENT].isin(wanted).to_numpy(dtype=bool)
    if not gone.any():
        return dataset, 0
    residents = dataset.residents.loc[~gone].reset_index(drop=True)
    keep = ~dataset.interactions[C.RESIDENT].isin(wanted).to_numpy(dtype=bool)
    interactions = dataset.interactions.loc[keep].reset_index(drop=True)
    typed = {"residents": residents, "communities": dataset.communities, "services": dataset.services,
             "interactions": interactions}
    return Dataset._assemble(typed, dict(dataset.dropped)), int(gone.sum())
