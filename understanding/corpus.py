"""The labelled corpus of residents' requests: reading it, checking it and splitting it train / test.

Columns: ``text``, ``category``, ``service_id`` and ``service_name`` (empty for a complaint that names no service),
``register`` (how the resident writes: elderly_spoken, parent_hurry, migrant_worker, noisy, plain), ``complaint``
(kind, or empty for a need) and ``group`` (the situation the request was written from). The split keeps whole
groups on one side, so a test request never shares its situation with a training request; it is fixed by the seed.

The shipped corpus is several files (:data:`SHIPPED_CORPORA`), read in order; the loader notes each row's file in
``source``, and the split draws one file's groups after the other's, so adding a file never moves an earlier
file's request to the other side of the split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

#: The first corpus file shipped with Linli.
DEFAULT_CORPUS: Final = Path(__file__).resolve().parent / "data" / "corpus.csv"
#: Every corpus file shipped with Linli, in the order the split draws them (later files only add requests).
SHIPPED_CORPORA: Final = (DEFAULT_CORPUS, DEFAULT_CORPUS.with_name("corpus_more.csv"))
#: Columns every corpus must have.
REQUIRED: Final = ("text", "category")
#: Optional columns, added as empty when missing (``source``: the file a row was read from, set by the loader).
OPTIONAL: Final = ("service_id", "service_name", "register", "complaint", "group", "source")
#: Share of groups held out for testing.
TEST_FRACTION: Final = 0.25
#: Seed of the shipped split.
SPLIT_SEED: Final = 19


class CorpusError(ValueError):
    """A corpus that cannot be used: the message names the file, column or row."""


def load_corpus(path: Path | str | Sequence[Path | str] | None = None) -> pd.DataFrame:
    """Read a labelled corpus (CSV, UTF-8; one file or several in order) and check it.

    Parameters
    ----------
    path : path or sequence of path, optional
        The CSV file, or several read in order; every file of :data:`SHIPPED_CORPORA` when ``None``.

    Returns
    -------
    pandas.DataFrame
        One row per request, all columns as strings (empty string where a cell is empty); ``source`` is the name
        of the file the row was read from.

    Raises
    ------
    CorpusError
        A missing file or column, a row with an empty ``text`` or ``category`` (naming the file and its lines),
        or a ``group`` found in two of the files.
    """
    if isinstance(path, (str, Path)):
        return _read(Path(path))
    parts = [_read(Path(p)) for p in (SHIPPED_CORPORA if path is None else path)]
    if not parts:
        raise CorpusError("no corpus file given")
    seen: set[str] = set()
    for part in parts:
        shared = sorted(seen & set(part["group"]))
        if shared:
            raise CorpusError(f"corpus file {part['source'].iat[0]} reuses group(s) {shared[:5]} of an earlier "
                              "file; give each file's groups their own prefix (see understanding.corpus_maker)")
        seen |= set(part["group"]) - {""}
    return pd.concat(parts, ignore_index=True)


def _read(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError as exc:
        raise CorpusError(f"corpus file {path} does not exist") from exc
    return check_corpus(frame.assign(source=path.name), str(path))


def check_corpus(frame: pd.DataFrame, name: str = "corpus") -> pd.DataFrame:
    """``frame`` with the optional columns added, or :class:`CorpusError` naming what is wrong."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise CorpusError(f"{name} has no column(s) {missing}; it needs {list(REQUIRED)}")
    frame = frame.copy()
    for column in OPTIONAL:
        if column not in frame.columns:
            frame[column] = ""
    frame = frame.fillna("").astype({c: str for c in (*REQUIRED, *OPTIONAL)})
    for column in REQUIRED:
        empty = frame.index[frame[column].str.strip() == ""].tolist()
        if empty:
            raise CorpusError(f"{name}: rows {[i + 2 for i in empty[:5]]} (file lines) have an empty '{column}'")
    if frame.empty:
        raise CorpusError(f"{name} has no rows")
    return frame.reset_index(drop=True)


def split_corpus(frame: pd.DataFrame, seed: int = SPLIT_SEED,
                 test_fraction: float = TEST_FRACTION) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a corpus into train and test parts, whole ``group`` s at a time (rows without a group: one each).

    Groups are drawn per service (per category and complaint kind for rows without one), so every service with
    two groups or more has requests on both sides. Rows of each ``source`` are drawn in turn, in the order they
    appear, so the draws for a file do not depend on the files after it.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The train part and the test part.
    """
    groups = frame["group"].where(frame["group"] != "", "row" + frame.index.astype(str))
    rng = np.random.default_rng(seed)
    test: set[str] = set()
    strata = frame["category"] + "|" + frame["service_name"] + "|" + frame["complaint"]
    for _, rows in groups.groupby(frame["source"], sort=False):
        for _, part in rows.groupby(strata[rows.index], sort=True):
            unique = sorted(set(part))
            n = round(len(unique) * test_fraction) if len(unique) > 1 else 0
            test.update(rng.choice(unique, size=n, replace=False).tolist() if n else [])
    held = groups.isin(test)
    return frame[~held].reset_index(drop=True), frame[held].reset_index(drop=True)
