"""The files of a data folder as units of work: every table is a list of parts (a single file is one part),
each with the position of its first row in the whole table, so rows keep their place and their file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.errors import SourceError
from features.schema import TABLES
from features.sources.folder import read_table_file, table_path
from features.sources.partitioned import part_rows, read_part, table_parts


@dataclass(frozen=True)
class Part:
    """One file of one table: ``path``, its ``rows`` and ``first_row``, its first row's position in the table."""

    table: str
    path: Path
    rows: int
    first_row: int
    partitioned: bool

    def read(self) -> pd.DataFrame:
        """The raw frame of this file (hive contract columns added for partitioned tables)."""
        return read_part(self.path, self.table) if self.partitioned else read_table_file(self.path)


def folder_parts(folder: str | Path) -> dict[str, list[Part]]:
    """Table name → its parts in reading order, for a folder of single files and/or partitioned tables.

    Raises
    ------
    SourceError
        ``folder`` is a database URL or not a folder, or a table is missing.
    """
    if "://" in str(folder):
        raise SourceError(f"--data {folder}: the dask engine reads folders of Parquet/CSV files; export the "
                          "database to Parquet first (or use --engine local)")
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"{folder}: not a folder")
    out: dict[str, list[Part]] = {}
    for name in TABLES:
        parts = table_parts(folder, name)
        if parts is None:
            path = table_path(folder, name)
            rows = part_rows(path) if path.suffix == ".parquet" else len(read_table_file(path))
            out[name] = [Part(name, path, rows, 0, partitioned=False)]
            continue
        listed, first = [], 0
        for path in parts:
            rows = part_rows(path)
            listed.append(Part(name, path, rows, first, partitioned=True))
            first += rows
        out[name] = listed
    return out
