"""Persona labels a community worker confirmed: a CSV of ``resident_id`` and ``personas``.

``personas`` is ``;``-joined persona names; an empty cell means the worker confirmed that none applies.
A bad file raises :class:`~features.errors.DataValidationError` naming the file, row and column of every
problem, as the data contracts do (row 1 is the first data row; the header is not counted).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from features.columns import LIST_SEPARATOR, Columns, Vocab
from features.errors import DataValidationError, SourceError
from features.validation import ViolationLog

PERSONAS_COLUMN = "personas"
LABEL_COLUMNS = (Columns.RESIDENT, PERSONAS_COLUMN)


def read_labels(path: str | Path, resident_ids: Iterable[str]) -> pd.DataFrame:
    """Read a label file into a boolean resident × persona frame.

    Parameters
    ----------
    path : str or Path
        CSV with columns ``resident_id`` and ``personas``.
    resident_ids : iterable of str
        The residents of the data being calibrated; every labelled resident must be one of them.

    Returns
    -------
    pandas.DataFrame
        Boolean, indexed by resident id (file order), one column per persona in ``Vocab.PERSONAS`` order.

    Raises
    ------
    SourceError
        If the file cannot be read as CSV.
    DataValidationError
        If a column is missing, a resident id is empty, unknown or repeated, or a persona name is unknown;
        every violation names its row and column.
    """
    path = Path(path)
    source = str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise SourceError(f"{source}: label file not found") from exc
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SourceError(f"{source}: cannot read the label file as CSV ({exc})") from exc
    log = ViolationLog(source)
    for column in LABEL_COLUMNS:
        if column not in raw.columns:
            log.add_missing_column(column)
    if log.total:
        raise DataValidationError(log.kept, log.total)
    if raw.empty:
        raise SourceError(f"{source}: no label rows; give one row per labelled resident")
    ids = raw[Columns.RESIDENT].str.strip()
    known = pd.Index(pd.Series(list(resident_ids), dtype=object).astype(str))
    for pos, rid in enumerate(ids):
        if rid == "":
            log.add([pos], Columns.RESIDENT, ["empty value in a required field"])
        elif rid not in known:
            log.add([pos], Columns.RESIDENT, [f"unknown resident {rid!r}: not in the data given with --data"])
    for pos in (ids.duplicated() & (ids != "")).to_numpy().nonzero()[0]:
        log.add([pos], Columns.RESIDENT, [f"duplicate resident {ids.iloc[pos]!r}: label each resident once"])
    names: list[list[str]] = []
    for pos, cell in enumerate(raw[PERSONAS_COLUMN]):
        parts = [p.strip() for p in str(cell).split(LIST_SEPARATOR) if p.strip()]
        unknown = [p for p in parts if p not in Vocab.PERSONAS]
        if unknown:
            log.add([pos], PERSONAS_COLUMN, [f"unknown persona(s) {unknown}; valid: {list(Vocab.PERSONAS)} "
                                             "joined by ';' (empty = none applies)"])
        names.append(parts)
    if log.total:
        raise DataValidationError(log.kept, log.total)
    return pd.DataFrame({p: [p in row for row in names] for p in Vocab.PERSONAS},
                        index=pd.Index(ids.to_numpy(dtype=object), name=Columns.RESIDENT))


def write_labels(labels: pd.DataFrame, path: str | Path) -> Path:
    """Write a boolean resident × persona frame as a label CSV (the inverse of :func:`read_labels`)."""
    path = Path(path)
    joined = [LIST_SEPARATOR.join(p for p in labels.columns if row[p]) for _, row in labels.iterrows()]
    pd.DataFrame({Columns.RESIDENT: labels.index.astype(str), PERSONAS_COLUMN: joined}).to_csv(path, index=False)
    return path
