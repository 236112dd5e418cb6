"""Load a :class:`~features.Dataset` from a SQL database (any SQLAlchemy URL).

The database holds tables named ``residents``, ``communities``, ``services`` and ``interactions``
(optionally under a prefix, e.g. ``linli_residents``) with the contract's column names.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from features.dataset import Dataset
from features.errors import SourceError
from features.schema import TABLES
from privacy.pseudonym import pseudonymise_frames


def load_sql(url: str, *, prefix: str = "", strict: bool = True) -> Dataset:
    """Load and validate the four tables from the database at ``url``.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:///linli.db`` or ``postgresql+psycopg://user@host/db``.
    prefix : str
        Prefix of the table names.
    strict : bool, default True
        See :meth:`Dataset.from_frames`.
    """
    engine = sa.create_engine(url)
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:") \
            and not Path(database).is_file():  # SQLite would create an empty file in its place
        engine.dispose()
        raise SourceError(f"{url}: no such database file")
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            existing = set(sa.inspect(conn).get_table_names())
            for name in TABLES:
                table = f"{prefix}{name}"
                if table not in existing:
                    raise SourceError(f"{engine.url.render_as_string(hide_password=True)}: no table '{table}'")
                frames[name] = pd.read_sql_table(table, conn)
                sources[name] = f"table {table}"
    except sa.exc.OperationalError as exc:
        raise SourceError(f"cannot connect to {engine.url.render_as_string(hide_password=True)}: "
                          f"{exc.orig}") from exc
    finally:
        engine.dispose()
    frames = pseudonymise_frames(frames)  # raw resident ids end here
    return Dataset.from_frames(**frames, sources=sources, strict=strict)


def write_sql(frames: dict[str, pd.DataFrame], url: str, *, prefix: str = "") -> None:
    """Write raw tables to a database (replacing tables of the same name); the inverse of :func:`load_sql`."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for name, frame in frames.items():
                frame.to_sql(f"{prefix}{name}", conn, if_exists="replace", index=False, chunksize=50_000)
    finally:
        engine.dispose()
