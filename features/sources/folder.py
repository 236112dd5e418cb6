"""Load a :class:`~features.Dataset` from a folder of CSV or Parquet files.

The folder holds ``residents``, ``communities``, ``services`` and ``interactions``, each as
``NAME.parquet`` or ``NAME.csv`` (UTF-8), or as a folder ``NAME/`` of Parquet parts
(:mod:`features.sources.partitioned`). Files whose names start with ``ground_truth`` are never read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.dataset import Dataset
from features.errors import DataValidationError, SourceError
from features.schema import TABLES
from features.sources.partitioned import PARTS_ATTR, PartIndex, read_parts, relocate, table_parts
from privacy.pseudonym import pseudonymise_frames


def _read_csv(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty (0 bytes); it needs a header line with the contract's "
                          f"columns, e.g. {','.join(_required_columns(path.stem))}")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(_not_utf8(path)) from exc
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{path}: no header line; the first line must name the columns, e.g. "
                          f"{','.join(_required_columns(path.stem))}") from exc
    except pd.errors.ParserError as exc:
        raise SourceError(f"{path}: cannot parse CSV: {exc}") from exc


def _not_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 sits in the whole file, and how to fix it.

    pandas decodes in chunks, so the offset of its ``UnicodeDecodeError`` is relative to a chunk: the
    file is decoded again here, whole, to name the true line and byte.
    """
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
    else:  # pragma: no cover - pandas and Python disagree about the file
        start = 0
    line = data[:start].count(b"\n") + 1
    return (f"{path}: line {line} (byte {start}) is not valid UTF-8. Save the file as UTF-8 "
            "(files exported from Excel in China are often GBK: `iconv -f GBK -t UTF-8`).")


def _required_columns(table: str) -> list[str]:
    spec = TABLES.get(table)
    return [c.name for c in spec.columns if c.required] if spec else []


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise SourceError(f"{path}: cannot read Parquet file: {exc}") from exc


def table_path(folder: Path, name: str) -> Path:
    """The file holding table ``name`` in ``folder``; Parquet wins over CSV when both exist."""
    for suffix in (".parquet", ".csv"):
        candidate = folder / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    raise SourceError(f"{folder}: no {name}.parquet or {name}.csv (nor a {name}/ folder of Parquet parts); "
                      f"a data folder needs all of {', '.join(TABLES)} "
                      f"(run `linli generate --out {folder}` for a synthetic one)")


def read_table_file(path: Path) -> pd.DataFrame:
    """One table file (``.parquet`` or UTF-8 ``.csv``) as a raw frame."""
    return _read_parquet(path) if path.suffix == ".parquet" else _read_csv(path)


def read_folder_frames(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Read the four raw tables of ``folder`` without validating them.

    Returns
    -------
    frames : dict
        Table name → raw frame.
    sources : dict
        Table name → file path, for error messages.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"{folder}: not a folder")
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for name in TABLES:
        parts = table_parts(folder, name)
        if parts is not None:
            frames[name], sources[name] = read_parts(parts, name), str(folder / name)
            continue
        path = table_path(folder, name)
        frames[name] = read_table_file(path)
        sources[name] = str(path)
    return frames, sources


def load_folder(folder: str | Path, *, strict: bool = True) -> Dataset:
    """Load and validate a folder of CSV or Parquet files.

    Parameters
    ----------
    folder : str or Path
        Folder holding the four tables.
    strict : bool, default True
        See :meth:`Dataset.from_frames`.

    Raises
    ------
    SourceError
        A file is missing, unreadable or not UTF-8.
    DataValidationError
        Any contract violation, each named by file, row and column.
    """
    frames, sources = read_folder_frames(folder)
    indexes = [PartIndex.of(sources[name], frame.attrs.pop(PARTS_ATTR)) for name, frame in frames.items()
               if PARTS_ATTR in frame.attrs]
    frames = pseudonymise_frames(frames)  # raw resident ids end here
    try:
        return Dataset.from_frames(**frames, sources=sources, strict=strict)
    except DataValidationError as exc:  # name each partitioned row by its part file and row there
        raise relocate(exc, indexes) if indexes else exc from None
