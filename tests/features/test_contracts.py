"""Data contracts: every violation is reported with file, row and column; nothing is dropped silently."""

from __future__ import annotations

import pandas as pd
import pytest

from features import Columns as C
from features import Dataset, DataValidationError, UnknownIdError
from features.sources.synthetic import SyntheticCommunity


def _frames(community: SyntheticCommunity) -> dict[str, pd.DataFrame]:
    return {name: frame.copy() for name, frame in community.frames.items()}


def test_valid_frames_give_typed_dataset_with_id_maps(dataset: Dataset) -> None:
    assert dataset.residents[C.BIRTH_YEAR].dtype == "Int64"
    assert isinstance(dataset.residents[C.EMPLOYMENT].dtype, pd.CategoricalDtype)
    assert dataset.interactions[C.TIMESTAMP].is_monotonic_increasing
    ids = dataset.residents[C.RESIDENT].iloc[[5, 0, 17]].tolist()
    internal = dataset.resident_ids.to_internal(ids)
    assert list(internal) == [5, 0, 17]
    assert list(dataset.resident_ids.to_external(internal)) == ids


def test_unknown_external_id_is_named(dataset: Dataset) -> None:
    with pytest.raises(UnknownIdError, match=r"unknown resident id.*'nobody'"):
        dataset.resident_ids.to_internal(["R0000001", "nobody"])
    assert list(dataset.resident_ids.to_internal(["nobody"], strict=False)) == [-1]


def test_every_bad_cell_of_a_table_is_reported_at_once(community: SyntheticCommunity) -> None:
    frames = _frames(community)
    residents = frames["residents"].astype({C.BIRTH_YEAR: object, C.EMPLOYMENT: object})
    residents.loc[3, C.BIRTH_YEAR] = "nineteen-fifty"
    residents.loc[10, C.EMPLOYMENT] = "astronaut"
    residents.loc[11, C.HOUSEHOLD_SIZE] = 0
    residents.loc[12, C.RESIDENT] = residents.loc[13, C.RESIDENT]
    frames["residents"] = residents
    with pytest.raises(DataValidationError) as caught:
        Dataset.from_frames(**frames, sources={"residents": "residents.csv"})
    found = {(v.source, v.row, v.column) for v in caught.value.violations}
    assert ("residents.csv", 4, C.BIRTH_YEAR) in found
    assert ("residents.csv", 11, C.EMPLOYMENT) in found
    assert ("residents.csv", 12, C.HOUSEHOLD_SIZE) in found
    assert ("residents.csv", 14, C.RESIDENT) in found  # the second occurrence is the duplicate
    assert "residents.csv, row 11, column 'employment': not one of" in str(caught.value)
    assert sum(v.source == "residents.csv" for v in caught.value.violations) == 4
    # the renamed resident's events now point at an id that no longer exists: reported, not dropped
    orphans = [v for v in caught.value.violations if v.source == "interactions"]
    assert orphans and all("unknown resident id" in v.message for v in orphans)


def test_unknown_ids_bad_timestamps_and_ratings_in_interactions(community: SyntheticCommunity) -> None:
    frames = _frames(community)
    events = frames["interactions"].astype({C.RESIDENT: object, C.TIMESTAMP: object, C.RATING: object})
    events.loc[0, C.RESIDENT] = "ghost"
    events.loc[1, C.TIMESTAMP] = "yesterday-ish"
    events.loc[2, C.RATING] = 9
    frames["interactions"] = events
    with pytest.raises(DataValidationError) as caught:
        Dataset.from_frames(**frames)
    messages = {(v.row, v.column): v.message for v in caught.value.violations}
    assert "unknown resident id 'ghost'" in messages[(1, C.RESIDENT)]
    assert "not a timestamp" in messages[(2, C.TIMESTAMP)]
    assert "out of range" in messages[(3, C.RATING)]


def test_missing_required_column_and_optional_column(community: SyntheticCommunity) -> None:
    frames = _frames(community)
    frames["residents"] = frames["residents"].drop(columns=[C.WORK_DISTRICT, C.DEPARTURE_HOUR])
    data = Dataset.from_frames(**frames)  # optional columns may be absent
    assert data.residents[C.WORK_DISTRICT].isna().all()
    frames["services"] = frames["services"].drop(columns=[C.CATEGORY])
    with pytest.raises(DataValidationError, match="'category'"):
        Dataset.from_frames(**frames)


def test_non_strict_load_drops_bad_rows_and_counts_them(community: SyntheticCommunity) -> None:
    frames = _frames(community)
    events = frames["interactions"].astype({C.EVENT: object, C.RESIDENT: object})
    events.loc[[4, 5], C.EVENT] = "like"
    events.loc[6, C.RESIDENT] = "ghost"
    frames["interactions"] = events
    data = Dataset.from_frames(**frames, strict=False)
    assert data.dropped["interactions"] == 3
    assert len(data.interactions) == len(events) - 3


def test_until_keeps_only_events_before_the_cutoff(dataset: Dataset) -> None:
    cutoff = pd.Timestamp("2026-09-01")
    past = dataset.until(cutoff)
    assert (past.interactions[C.TIMESTAMP] < cutoff).all()
    assert len(past.interactions) == int((dataset.interactions[C.TIMESTAMP] < cutoff).sum())


def test_fingerprint_changes_with_content(community: SyntheticCommunity, dataset: Dataset) -> None:
    frames = _frames(community)
    frames["interactions"] = frames["interactions"].iloc[1:]
    assert Dataset.from_frames(**frames).fingerprint() != dataset.fingerprint()
    assert community.dataset().fingerprint() == dataset.fingerprint()
