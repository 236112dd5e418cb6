"""Validate a data folder part by part on a Dask cluster: every violation names its file, row and column,
and no process ever holds a whole partitioned table.

The checks are the loaders' own (:func:`features.sources.partitioned.validate_part`, i.e.
:func:`features.validation.coerce_table` plus the foreign keys). What spans parts is computed once and sent to
every worker: the ids of communities, services and residents (for foreign keys) and the duplicate keys across
parts (the first occurrence in part order is kept, as when the table is one file).
"""

from __future__ import annotations

import pandas as pd
from distributed import Client

from features.errors import DataValidationError, Violation
from features.schema import TABLES
from features.sources.partitioned import validate_part
from features.validation import MAX_KEPT
from features.validation import _shown as shown_value
from scale.cluster import RETRIES
from scale.parts import Part

#: Tables validated first: their ids are the foreign-key targets of the later ones.
_ORDER = ("communities", "services", "residents", "interactions")


def _check(part: Part, known: dict[str, pd.Index]) -> tuple[list[Violation], int, pd.Series | None]:
    return validate_part(part.read(), part.table, str(part.path), known)


def _across_parts(parts: list[Part], keys: list[pd.Series], column: str) -> list[Violation]:
    """Duplicate keys whose earlier occurrence is in an earlier part (those inside one part are reported there)."""
    if len(parts) < 2:
        return []
    allkeys = pd.concat(keys, ignore_index=True)
    first_seen = allkeys.duplicated(keep="first").to_numpy()
    within = pd.concat([k.duplicated(keep="first") for k in keys], ignore_index=True).to_numpy()
    out, start = [], 0
    for part, k in zip(parts, keys, strict=True):
        stop = start + len(k)
        for pos in (first_seen[start:stop] & ~within[start:stop]).nonzero()[0]:
            out.append(Violation(str(part.path), int(pos) + 1, column, f"duplicate key {shown_value(k.iloc[pos])}"))
        start = stop
    return out


def validate_on_cluster(client: Client, parts: dict[str, list[Part]]) -> dict[str, int]:
    """Validate every part of every table on the cluster.

    Parameters
    ----------
    client : distributed.Client
    parts : dict
        Table name → parts (:func:`scale.parts.folder_parts`).

    Returns
    -------
    dict
        Table name → rows checked.

    Raises
    ------
    DataValidationError
        With every violation (at most :data:`~features.validation.MAX_KEPT` in detail), each naming the part
        file, its row there and the column, as loading the folder whole does.
    """
    known: dict[str, pd.Index] = {}
    kept: list[Violation] = []
    total = 0
    for name in _ORDER:
        targets = {fk.table for fk in TABLES[name].foreign_keys}
        shared = client.scatter({t: known[t] for t in targets}, broadcast=True, hash=False) if targets else {}
        futures = client.map(_check, parts[name], known=shared, pure=False, retries=RETRIES)
        results = client.gather(futures)
        keys = [k for _, _, k in results if k is not None]
        for violations, count, _ in results:
            kept.extend(violations)
            total += count
        if TABLES[name].key and len(keys) == len(results):
            extra = _across_parts(parts[name], keys, TABLES[name].key[0])
            kept.extend(extra)
            total += len(extra)
            known[name] = pd.Index(pd.concat(keys, ignore_index=True).dropna().unique())
    if total:
        raise DataValidationError(kept[:MAX_KEPT], total)
    return {name: sum(p.rows for p in listed) for name, listed in parts.items()}
