"""Hostile and broken source data (issue 15): stray dates, empty files, bad encodings and ids the API would refuse.

Each test is the reproduction of one fault; the loader and ``linli profile`` must answer with a clear sentence
(exit code 2 on the command line) or drop and count stray rows, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from features import Columns as C
from features import Dataset, DataValidationError
from features.errors import SourceError, StrayRowsWarning
from features.schema import EARLIEST_EVENT, MAX_ID_LENGTH, rating_problem
from features.sources import load, load_folder
from features.sources.synthetic import SyntheticCommunity


def _linli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"))}
    return subprocess.run([sys.executable, "-m", "linli", *args], capture_output=True, text=True, timeout=300,
                          env={**env, "LINLI_DATA_DIR": str(data_dir)})


def _copy(community: SyntheticCommunity, folder: Path, **replace: pd.DataFrame | None) -> Path:
    """The community as Parquet files in ``folder``, with some tables replaced (``None``: leave the file out)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in community.frames.items():
        if name == "ground_truth" or (name in replace and replace[name] is None):
            continue
        replace.get(name, frame).to_parquet(folder / f"{name}.parquet")  # type: ignore[union-attr]
    return folder


def _with_stray_events(community: SyntheticCommunity) -> pd.DataFrame:
    events = community.frames["interactions"].copy()
    strays = events.iloc[[0, 1]].copy()
    strays[C.TIMESTAMP] = [pd.Timestamp("2099-01-01"), pd.Timestamp("1970-01-01")]
    return pd.concat([events, strays], ignore_index=True)


# fault 1: stray far-future / far-past interactions


def test_loading_drops_and_counts_events_dated_after_now_or_before_the_earliest(
        community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = _copy(community, tmp_path / "stray", interactions=_with_stray_events(community))
    with pytest.warns(StrayRowsWarning, match=r"2 interaction\(s\) dated after .* or before 1990-01-01"):
        data = load(str(folder))
    assert data.dropped["interactions_out_of_time"] == 2
    assert len(data.interactions) == len(community.frames["interactions"])
    assert data.interactions[C.TIMESTAMP].max() < pd.Timestamp("2027-01-01")
    assert data.interactions[C.TIMESTAMP].min() >= pd.Timestamp(EARLIEST_EVENT)


def test_a_stated_now_ends_the_history(community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = _copy(community, tmp_path / "now")
    events = community.frames["interactions"]
    now = pd.Timestamp("2026-10-01")
    with pytest.warns(StrayRowsWarning, match="dated after 2026-10-01"):
        data = load(str(folder), now=now)
    assert data.dropped["interactions_out_of_time"] == int((events[C.TIMESTAMP] > now).sum()) > 0
    assert data.history_end() == pd.Timestamp("2026-10-01")


def test_profile_reports_the_stray_rows_it_dropped(community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = _copy(community, tmp_path / "stray", interactions=_with_stray_events(community))
    done = _linli("profile", "--data", str(folder), "--json", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dropped"]["interactions_out_of_time"] == 2
    assert "2 interaction(s) dated after" in done.stderr


# fault 3: empty files and too little data end with exit code 2 and a sentence


def test_a_zero_byte_interactions_file_is_named(community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = _copy(community, tmp_path / "zero", interactions=None)
    (folder / "interactions.csv").write_bytes(b"")
    with pytest.raises(SourceError, match=r"interactions.csv: the file is empty \(0 bytes\); it needs a header"):
        load_folder(folder)
    done = _linli("profile", "--data", str(folder), data_dir=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "the file is empty" in done.stderr


def test_a_header_only_interactions_file_profiles_from_attributes_alone(
        community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = _copy(community, tmp_path / "header", interactions=None)
    community.frames["interactions"].iloc[:0].to_csv(folder / "interactions.csv", index=False)
    done = _linli("profile", "--data", str(folder), "--json", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["residents"] == len(community.frames["residents"])


def test_a_header_only_residents_file_says_what_is_missing(community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = _copy(community, tmp_path / "nobody", residents=None, interactions=None)
    community.frames["residents"].iloc[:0].to_csv(folder / "residents.csv", index=False)
    community.frames["interactions"].iloc[:0].to_csv(folder / "interactions.csv", index=False)
    done = _linli("profile", "--data", str(folder), data_dir=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "no residents" in done.stderr


# fault 4: the encoding hint names the true line and byte


def test_a_non_utf8_byte_deep_in_a_file_is_reported_at_its_true_line(
        community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = _copy(community, tmp_path / "gbk", interactions=None)
    events = community.frames["interactions"].head(400).astype({C.COMMENT: object})
    events.iloc[249, events.columns.get_loc(C.COMMENT)] = "很方便"  # data row 250 is line 251 of the file
    lines = events.to_csv(index=False).splitlines(keepends=True)
    head = "".join(lines[:250]).encode("utf-8")
    (folder / "interactions.csv").write_bytes(head + "".join(lines[250:]).encode("gbk"))
    expected_byte = len(head) + lines[250].encode("gbk").index("很".encode("gbk"))
    with pytest.raises(SourceError, match=rf"line 251 \(byte {expected_byte}\) is not valid UTF-8"):
        load_folder(folder)


# fault 5: one set of rules for the loader and the API


def test_the_loader_caps_ids_at_the_api_length(community: SyntheticCommunity) -> None:
    frames = {name: frame.copy() for name, frame in community.frames.items() if name != "ground_truth"}
    residents = frames["residents"].astype({C.RESIDENT: object})
    residents.loc[3, C.RESIDENT] = "R" * 1_000_000
    frames["residents"] = residents
    with pytest.raises(DataValidationError, match=rf"row 4, column 'resident_id': longer than {MAX_ID_LENGTH}"):
        Dataset.from_frames(**frames)


def test_the_loader_refuses_rate_rows_without_a_rating(community: SyntheticCommunity) -> None:
    frames = {name: frame.copy() for name, frame in community.frames.items() if name != "ground_truth"}
    events = frames["interactions"]
    rated = int(events.index[events[C.EVENT] == "rate"][0])
    clicked = int(events.index[events[C.EVENT] == "click"][0])
    events.loc[rated, C.RATING] = float("nan")
    events.loc[clicked, C.RATING] = 4.0
    with pytest.raises(DataValidationError) as caught:
        Dataset.from_frames(**frames)
    text = str(caught.value)
    assert f"row {rated + 1}, column 'rating': {rating_problem('rate', None)}" in text
    assert f"row {clicked + 1}, column 'rating': {rating_problem('click', 4.0)}" in text


def test_the_shared_rating_rule_reads_as_the_api_says_it() -> None:
    assert rating_problem("rate", None) == "a 'rate' event needs a rating from 1 to 5"
    assert rating_problem("rate", 3.0) is None
    assert rating_problem("view", None) is None
    assert rating_problem("use", 2.0) == "only 'rate' events carry a rating; remove it from this 'use' event"


def test_generate_into_a_file_says_so(tmp_path: Path) -> None:
    in_the_way = tmp_path / "taken"
    in_the_way.write_text("not a folder", encoding="utf-8")
    done = _linli("generate", "--residents", "50", "--out", str(in_the_way), data_dir=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and f"--out {in_the_way}: cannot write the tables there" in done.stderr


def test_a_missing_sqlite_database_is_named_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    with pytest.raises(SourceError, match="no such database file"):
        load(f"sqlite:///{missing}")
    assert not missing.exists()


def test_a_bad_rating_on_a_rate_row_is_reported_once(community: SyntheticCommunity) -> None:
    frames = {name: frame.copy() for name, frame in community.frames.items()}
    events = frames["interactions"]
    rated = int(events.index[events[C.EVENT] == "rate"][0])
    events.loc[rated, C.RATING] = 9.0
    with pytest.raises(DataValidationError) as caught:
        Dataset.from_frames(**frames)
    found = [v.message for v in caught.value.violations if v.row == rated + 1]
    assert len(found) == 1 and "out of range" in found[0]
