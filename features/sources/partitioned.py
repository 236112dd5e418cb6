"""Tables stored as a folder of Parquet parts: ``interactions/part-*.parquet`` or hive folders such as
``interactions/month=2026-05/part-00000.parquet`` (any depth of ``key=value`` folders).

A table is partitioned when ``FOLDER/NAME`` is a directory; its parts are every ``*.parquet`` file below it,
read in sorted path order (so ``month=`` folders read in time order). A hive key that names a contract column
missing from the part (``community_id=C01/``) is added from its folder name; other keys (``month=``,
``district=``) only arrange the files and add no column.

Errors name the part file and the row inside it: :func:`relocate` maps a violation found in the concatenated
table back to its part, and :func:`validate_part` checks one part on its own, so a cluster can validate a
table part by part without ever holding all of it in one process.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from features.columns import Columns as C
from features.errors import DataValidationError, SourceError, Violation
from features.schema import TABLES
from features.validation import coerce_table

#: The ``attrs`` key of a concatenated table listing its parts as (path, rows).
PARTS_ATTR = "linli_parts"


def table_parts(folder: str | Path, name: str) -> list[Path] | None:
    """The Parquet parts of table ``name`` in ``folder`` (sorted), or ``None`` when it is not a folder.

    Raises
    ------
    SourceError
        ``FOLDER/NAME`` is a directory without any ``*.parquet`` file.
    """
    directory = Path(folder) / name
    if not directory.is_dir():
        return None
    parts = sorted(p for p in directory.rglob("*.parquet") if p.is_file())
    if not parts:
        raise SourceError(f"{directory}: a partitioned table needs at least one *.parquet file below it "
                          f"(e.g. {directory}/part-00000.parquet)")
    return parts


def part_rows(part: Path) -> int:
    """Rows of one Parquet part, from its footer (the data is not read)."""
    try:
        return int(pq.ParquetFile(part).metadata.num_rows)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise SourceError(f"{part}: cannot read Parquet file: {exc}") from exc


def read_part(part: Path, table: str) -> pd.DataFrame:
    """One part of ``table`` as a raw frame, with contract columns named by its hive folders added."""
    try:
        frame = pd.read_parquet(part)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise SourceError(f"{part}: cannot read Parquet file: {exc}") from exc
    folders = part.parent.parts
    below = folders[len(folders) - folders[::-1].index(table):] if table in folders else ()
    for folder in below:  # only the folders inside the table's own folder
        key, sep, value = folder.partition("=")
        if sep and key in TABLES[table].column_names and key not in frame.columns:
            frame[key] = value
    return frame


def read_parts(parts: list[Path], table: str) -> pd.DataFrame:
    """All parts concatenated in order; ``attrs[PARTS_ATTR]`` lists (path, rows) for :func:`relocate`."""
    frames = [read_part(p, table) for p in parts]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.attrs[PARTS_ATTR] = [(str(p), len(f)) for p, f in zip(parts, frames, strict=True)]
    return frame


@dataclass(frozen=True)
class PartIndex:
    """Where each row of a concatenated table came from: ``source`` (the table's folder) and its parts."""

    source: str
    paths: tuple[str, ...]
    starts: tuple[int, ...]

    @classmethod
    def of(cls, source: str, parts: list[tuple[str, int]]) -> PartIndex:
        """Build the index from (path, rows) pairs in reading order."""
        starts, total = [], 0
        for _, rows in parts:
            starts.append(total)
            total += rows
        return cls(source, tuple(p for p, _ in parts), tuple(starts))

    def locate(self, violation: Violation) -> Violation:
        """``violation`` (1-based row of the concatenated table) as file and 1-based row of its part."""
        if violation.source != self.source or violation.row is None:
            return violation
        part = bisect.bisect_right(self.starts, violation.row - 1) - 1
        return replace(violation, source=self.paths[part], row=violation.row - self.starts[part])


def relocate(error: DataValidationError, indexes: Iterable[PartIndex]) -> DataValidationError:
    """The same error with every violation of a partitioned table naming its part file and row there."""
    located = list(error.violations)
    for index in indexes:
        located = [index.locate(v) for v in located]
    return DataValidationError(located, error.total)


def validate_part(frame: pd.DataFrame, table: str, source: str, known: dict[str, pd.Index] | None = None
                  ) -> tuple[list[Violation], int, pd.Series | None]:
    """Check one part of a table against its contract, alone (bounded memory).

    Parameters
    ----------
    frame : pandas.DataFrame
        The raw part (:func:`read_part`).
    table : str
        Table name in :data:`features.schema.TABLES`.
    source : str
        The part's file, named in every violation.
    known : dict, optional
        Target table → its valid ids (typed, as the key column of that table), for the table's foreign keys
        (ids of the other tables, computed once).
        A foreign key whose target is not given is not checked.

    Returns
    -------
    violations : list of Violation
        Each names the part file, its 1-based row there and the column.
    total : int
        Number of violations (more than kept when the part has very many).
    keys : pandas.Series or None
        The part's typed key column (for duplicates across parts), ``None`` when the table has no key.
    """
    spec = TABLES[table]
    typed, log = coerce_table(frame, spec, source)
    for fk in spec.foreign_keys:
        if known is None or fk.table not in known:
            continue
        values = typed[fk.column]
        bad = (~values.isin(known[fk.table]) & values.notna()).to_numpy(dtype=bool)
        positions = bad.nonzero()[0]
        log.add(positions, fk.column, (f"unknown {fk.table[:-1]} id {values.iloc[p]!r}" for p in positions))
    keys = typed[spec.key[0]] if len(spec.key) == 1 else None
    return log.kept, log.total, keys


def write_partitioned(frame: pd.DataFrame, directory: str | Path, *, rows_per_part: int = 250_000,
                      by: pd.Series | None = None, key: str = "") -> list[Path]:
    """Write ``frame`` as ``DIRECTORY/part-*.parquet``, or hive folders ``KEY=VALUE/`` when ``by`` is given.

    Rows keep their order within a part, and parts are named so that sorted paths read them back in order
    (hive values sort as they should when ``by`` is monotone in row order, e.g. months of sorted times).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.rglob("*.parquet"):  # the table is replaced whole, as a single file would be
        old.unlink()
    groups = [(directory, frame)] if by is None or frame.empty else [
        (directory / f"{key}={value}", group) for value, group in frame.groupby(by.to_numpy(), sort=True)]
    written = []
    for folder, group in groups:
        folder.mkdir(parents=True, exist_ok=True)
        for i, start in enumerate(range(0, max(len(group), 1), rows_per_part)):
            path = folder / f"part-{i:05d}.parquet"
            group.iloc[start:start + rows_per_part].to_parquet(path, index=False)
            written.append(path)
    return written


def write_partitioned_folder(frames: dict[str, pd.DataFrame], out: str | Path, *,
                             rows_per_part: int = 250_000) -> dict[str, list[Path]]:
    """Write the four tables in partitioned form: ``residents/part-*.parquet``, interactions in hive folders
    ``interactions/month=YYYY-MM/part-*.parquet`` (the month of the timestamp as written; rows without a readable
one in ``month=unknown``, so validation still reports them), communities and
    services as single Parquet files (they are small). A single file of a partitioned table is removed.

    Returns
    -------
    dict
        Table name → files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    for name, frame in frames.items():
        for stale in (out / f"{name}.parquet", out / f"{name}.csv"):
            stale.unlink(missing_ok=True)
        if name == "interactions":
            month = pd.to_datetime(frame[C.TIMESTAMP], errors="coerce").dt.strftime("%Y-%m").fillna("unknown")
            written[name] = write_partitioned(frame, out / name, rows_per_part=rows_per_part, by=month,
                                              key="month")
        elif name == "residents":
            written[name] = write_partitioned(frame, out / name, rows_per_part=rows_per_part)
        else:
            path = out / f"{name}.parquet"
            frame.to_parquet(path, index=False)
            written[name] = [path]
    return written
