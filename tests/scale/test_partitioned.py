"""Partitioned tables (folders of Parquet parts) load and validate as the same tables in single files do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client

from features.columns import Columns as C
from features.errors import DataValidationError, SourceError, Violation
from features.sources import load_folder
from features.sources.partitioned import write_partitioned, write_partitioned_folder
from features.sources.synthetic import SyntheticCommunity
from scale.parts import folder_parts
from scale.validate import validate_on_cluster

ROWS_PER_PART = 700


def _frames_equal(a: Path, b: Path) -> None:
    left, right = load_folder(a), load_folder(b)
    for name in ("residents", "communities", "services", "interactions"):
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name))


def test_a_partitioned_folder_loads_the_same_dataset(community: SyntheticCommunity, community_dir: Path,
                                                     tmp_path: Path) -> None:
    written = write_partitioned_folder(community.frames, tmp_path, rows_per_part=ROWS_PER_PART)
    assert len(written["residents"]) == 5  # 3,000 residents in parts of 700
    assert all("month=" in p.parent.name for p in written["interactions"])
    assert not (tmp_path / "residents.parquet").exists()
    _frames_equal(tmp_path, community_dir)


def test_a_hive_key_that_names_a_contract_column_is_read_from_the_folder(
        community: SyntheticCommunity, community_dir: Path, tmp_path: Path) -> None:
    residents = community.frames["residents"]
    write_partitioned(residents.drop(columns=[C.COMMUNITY]), tmp_path / "residents",
                      by=residents[C.COMMUNITY], key=C.COMMUNITY)
    for name in ("communities", "services", "interactions"):
        community.frames[name].to_parquet(tmp_path / f"{name}.parquet", index=False)
    loaded, single = load_folder(tmp_path), load_folder(community_dir)
    by_id = single.residents.set_index(C.RESIDENT)[C.COMMUNITY]
    got = loaded.residents.set_index(C.RESIDENT)[C.COMMUNITY]
    assert got.sort_index().equals(by_id.sort_index())


def test_an_empty_table_folder_is_named(community_dir: Path, tmp_path: Path) -> None:
    for path in community_dir.glob("*.parquet"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "interactions.parquet").unlink()
    (tmp_path / "interactions").mkdir()
    with pytest.raises(SourceError, match=r"interactions: a partitioned table needs at least one \*\.parquet"):
        load_folder(tmp_path)


def _broken(community: SyntheticCommunity) -> dict[str, pd.DataFrame]:
    """The community with six faults spread over several parts of residents and interactions."""
    frames = {name: frame.copy() for name, frame in community.frames.items()}
    residents = frames["residents"].astype({C.BIRTH_YEAR: "string"})
    residents.loc[5, C.BIRTH_YEAR] = "nineteen"
    residents.loc[2100, C.RESIDENT] = residents.loc[10, C.RESIDENT]  # a duplicate in a later part
    residents.loc[1500, C.COMMUNITY] = "NO-SUCH-COMMUNITY"
    events = frames["interactions"].sort_values(C.TIMESTAMP, kind="stable", ignore_index=True)  # month order
    events = events.astype({C.EVENT: object, C.SERVICE: object})
    events.loc[3, C.EVENT] = "bogus"
    events.loc[len(events) - 2, C.SERVICE] = "NO-SUCH-SERVICE"
    rated = events.index[events[C.EVENT].eq("rate")]
    events.loc[rated[len(rated) // 2], C.RATING] = 9.0
    frames["residents"], frames["interactions"] = residents, events
    return frames


def _violations(error: DataValidationError) -> set[tuple[str, int | None, str, str]]:
    return {(Path(v.source).name if v.row is None else v.source, v.row, v.column, v.message)
            for v in error.violations}


def _in_parts(violation: Violation, folder: Path) -> tuple[str, int | None, str, str]:
    """Where a violation of the single-file table lies in the partitioned copy (same writer, same order)."""
    table = Path(violation.source).stem
    parts = folder_parts(folder)[table]
    assert violation.row is not None
    part = next(p for p in parts if p.first_row < violation.row <= p.first_row + p.rows)
    return str(part.path), violation.row - part.first_row, violation.column, violation.message


def test_partitioned_and_single_file_sources_validate_identically(
        community: SyntheticCommunity, tmp_path: Path, client: Client) -> None:
    frames = _broken(community)
    single, parted = tmp_path / "single", tmp_path / "parted"
    single.mkdir()
    for name, frame in frames.items():
        frame.to_parquet(single / f"{name}.parquet", index=False)
    write_partitioned_folder(frames, parted, rows_per_part=ROWS_PER_PART)

    with pytest.raises(DataValidationError) as one_file:
        load_folder(single)
    with pytest.raises(DataValidationError) as whole:
        load_folder(parted)
    with pytest.raises(DataValidationError) as by_part:
        validate_on_cluster(client, folder_parts(parted))

    expected = {_in_parts(v, parted) for v in one_file.value.violations}
    assert len(expected) == one_file.value.total == 6
    assert _violations(whole.value) == expected
    assert _violations(by_part.value) == expected
    assert by_part.value.total == 6


def test_a_clean_partitioned_folder_validates_part_by_part(community: SyntheticCommunity, tmp_path: Path,
                                                           client: Client) -> None:
    write_partitioned_folder(community.frames, tmp_path, rows_per_part=ROWS_PER_PART)
    rows = validate_on_cluster(client, folder_parts(tmp_path))
    assert rows == {name: len(frame) for name, frame in community.frames.items()}


def test_linli_generate_partitioned_writes_what_the_loader_reads(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "linli", "generate", "--residents", "400", "--seed", "3",
                           "--partitioned", "--out", str(tmp_path / "p")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "p" / "residents" / "part-00000.parquet").exists()
    assert any((tmp_path / "p" / "interactions").glob("month=*/part-00000.parquet"))
    assert load_folder(tmp_path / "p").summary()["residents"] == 400
