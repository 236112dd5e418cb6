"""Loaders: folders of CSV or Parquet and SQL databases (SQLite and PostgreSQL) give the same Dataset."""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features import Columns as C
from features import Dataset, DataValidationError, SourceError
from features.sources import load, load_folder, write_sql
from features.sources.synthetic import SyntheticCommunity

POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _write_csv(community: SyntheticCommunity, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in community.frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def test_csv_folder_loads_the_same_as_parquet(community: SyntheticCommunity, community_dir: Path,
                                              tmp_path: Path) -> None:
    from_csv = load_folder(_write_csv(community, tmp_path / "csv"))
    from_parquet = load_folder(community_dir)
    assert from_csv.summary() == from_parquet.summary()
    pd.testing.assert_series_equal(from_csv.residents[C.BIRTH_YEAR], from_parquet.residents[C.BIRTH_YEAR])
    assert (from_csv.interactions[C.TIMESTAMP] == from_parquet.interactions[C.TIMESTAMP]).all()


def test_csv_errors_name_file_row_and_column(community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = _write_csv(community, tmp_path / "bad")
    services = pd.read_csv(folder / "services.csv", dtype=str)
    services.loc[2, C.CHANNEL] = "carrier pigeon"
    services.loc[5, C.MIN_AGE] = "-3"
    services.to_csv(folder / "services.csv", index=False)
    with pytest.raises(DataValidationError) as caught:
        load_folder(folder)
    text = str(caught.value)
    assert f"{folder / 'services.csv'}, row 3, column 'channel'" in text
    assert f"{folder / 'services.csv'}, row 6, column 'min_age'" in text


def test_non_utf8_csv_says_where_and_how_to_fix(community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = _write_csv(community, tmp_path / "gbk")
    text = (folder / "services.csv").read_text(encoding="utf-8")
    (folder / "services.csv").write_bytes(text.encode("gbk"))
    with pytest.raises(SourceError, match=r"services.csv: line \d+ .*not valid UTF-8.*GBK"):
        load_folder(folder)


def test_missing_table_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no communities\.parquet or communities\.csv"):
        load_folder(tmp_path)


def _roundtrip_sql(community: SyntheticCommunity, url: str, prefix: str) -> Dataset:
    frames = {name: frame.astype({c: "string" for c in frame.columns
                                  if isinstance(frame[c].dtype, pd.CategoricalDtype)})
              for name, frame in community.frames.items()}
    write_sql(frames, url, prefix=prefix)
    from features.sources.sql import load_sql

    return load_sql(url, prefix=prefix)


def test_sqlite_database_loads(community: SyntheticCommunity, dataset: Dataset, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'linli.db'}"
    loaded = _roundtrip_sql(community, url, prefix="")
    assert loaded.summary() == dataset.summary()
    assert loaded.fingerprint() == load(url).fingerprint()
    pd.testing.assert_series_equal(loaded.interactions[C.TIMESTAMP], dataset.interactions[C.TIMESTAMP])


def test_postgresql_database_loads(community: SyntheticCommunity, dataset: Dataset) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    try:
        loaded = _roundtrip_sql(community, POSTGRES_URL, prefix=prefix)
        assert loaded.summary() == dataset.summary()
        pd.testing.assert_series_equal(loaded.residents[C.BIRTH_YEAR], dataset.residents[C.BIRTH_YEAR])
    finally:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            for name in ("residents", "communities", "services", "interactions"):
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{prefix}{name}"'))
        engine.dispose()


def test_database_without_tables_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such database file"):
        load(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists(), "reading a source never creates an empty database"
    sqlite3.connect(tmp_path / "empty.db").close()
    with pytest.raises(SourceError, match="no table 'communities'"):
        load(f"sqlite:///{tmp_path / 'empty.db'}")
