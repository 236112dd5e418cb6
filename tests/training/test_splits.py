"""Time-based and stratified splits, and the ground truth they yield."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from features import Columns as C
from features import Dataset
from features.sources.synthetic import SyntheticCommunity
from training import (
    WINDOWS,
    RelevanceError,
    SplitError,
    TimeSplit,
    relevance_frame,
    service_resident_counts,
    stratified_split,
    time_split,
)


@pytest.fixture(scope="module")
def split(dataset: Dataset) -> TimeSplit:
    return time_split(dataset, test_weeks=4, validation_weeks=2)


def _with_events(community: SyntheticCommunity, rows: list[tuple[str, str, str, str, float]]) -> Dataset:
    """The fixture's residents and services with hand-written events (resident, service, time, event, rating)."""
    frames = dict(community.frames)
    frames["interactions"] = pd.DataFrame(rows, columns=[C.RESIDENT, C.SERVICE, C.TIMESTAMP, C.EVENT, C.RATING])
    return Dataset.from_frames(**frames)


def _ids(community: SyntheticCommunity) -> tuple[list[str], list[str]]:
    return (community.frames["residents"][C.RESIDENT].tolist()[:4],
            community.frames["services"][C.SERVICE].tolist()[:4])


# ----- time split ---------------------------------------------------------------------------------------
def test_windows_follow_each_other_without_overlap(split: TimeSplit, dataset: Dataset) -> None:
    assert split.end == pd.Timestamp("2026-11-01")  # midnight after the last event (2026-10-31)
    assert split.test_start == split.end - pd.Timedelta(weeks=4) == split.train_until
    assert split.validation_start == split.test_start - pd.Timedelta(weeks=2)
    bounds = [split.bounds(w) for w in WINDOWS]
    assert bounds[0][0] == dataset.interactions[C.TIMESTAMP].min()
    assert all(stop == next_start for (_, stop), (next_start, _) in itertools.pairwise(bounds))
    counts = [len(split.events(dataset, w)) for w in WINDOWS]
    assert sum(counts) == len(dataset.interactions) and min(counts) > 0
    for window, (start, stop) in zip(WINDOWS, bounds, strict=True):
        times = split.events(dataset, window)[C.TIMESTAMP]
        assert times.min() >= start and times.max() < stop


def test_truth_comes_only_from_the_window(split: TimeSplit, dataset: Dataset) -> None:
    events = dataset.interactions
    start, stop = split.bounds("test")
    inside = events[(events[C.TIMESTAMP] >= start) & (events[C.TIMESTAMP] < stop)]
    positive = inside[inside[C.EVENT].isin(["book", "use"])
                      | ((inside[C.EVENT] == "rate") & ~(inside[C.RATING] <= 2))]
    expected = set(zip(positive[C.RESIDENT], positive[C.SERVICE], strict=True))
    truth = split.truth(dataset, "test")
    assert set(zip(truth[C.RESIDENT], truth[C.SERVICE], strict=True)) == expected
    assert list(truth.columns) == [C.RESIDENT, C.SERVICE, "relevance"]
    assert not truth.duplicated([C.RESIDENT, C.SERVICE]).any()
    assert set(truth["relevance"]) <= {1.0, 2.0, 3.0}
    # the validation truth is a different window: different pairs or different evidence
    assert len(split.truth(dataset, "validation")) != len(truth)


def test_relevance_is_the_strongest_positive_event_and_low_ratings_do_not_count(
        community: SyntheticCommunity) -> None:
    (r1, r2, r3, _), (s1, s2, *_) = _ids(community)
    data = _with_events(community, [
        (r1, s1, "2026-01-01 10:00", "book", np.nan),
        (r1, s1, "2026-01-02 10:00", "use", np.nan),
        (r1, s2, "2026-01-03 10:00", "click", np.nan),   # not positive by default
        (r2, s1, "2026-01-04 10:00", "rate", 2.0),       # a complaint
        (r2, s2, "2026-01-05 10:00", "rate", 4.0),
        (r3, s1, "2026-01-06 10:00", "impression", np.nan),
    ])
    truth = relevance_frame(data.interactions)
    assert truth.set_index([C.RESIDENT, C.SERVICE])["relevance"].to_dict() == {(r1, s1): 2.0, (r2, s2): 3.0}
    clicks = relevance_frame(data.interactions, events=("click", "book", "use", "rate"))
    assert clicks.set_index([C.RESIDENT, C.SERVICE])["relevance"].to_dict() == {
        (r1, s1): 3.0, (r1, s2): 1.0, (r2, s2): 4.0}
    custom = relevance_frame(data.interactions, events={"use": 1.0, "rate": 5.0}, negative_rating=1.0)
    assert custom.set_index([C.RESIDENT, C.SERVICE])["relevance"].to_dict() == {
        (r1, s1): 1.0, (r2, s1): 5.0, (r2, s2): 5.0}
    assert service_resident_counts(data.interactions, services=[s1, s2, "SV-none"]).to_dict() == {
        s1: 1, s2: 1, "SV-none": 0}
    with pytest.raises(RelevanceError, match="unknown event"):
        relevance_frame(data.interactions, events=("purchase",))


def test_cold_start_residents_have_no_earlier_events(split: TimeSplit, dataset: Dataset) -> None:
    events = dataset.interactions
    first_seen = events.groupby(C.RESIDENT, observed=True)[C.TIMESTAMP].min()
    for window in ("validation", "test"):
        start, _ = split.bounds(window)
        active = set(split.events(dataset, window)[C.RESIDENT])
        expected = {r for r in active if first_seen[r] >= start}
        cold = split.cold_start(dataset, window)
        assert set(cold) == expected and len(cold) > 0
        assert cold.is_unique and cold.is_monotonic_increasing


def test_too_short_data_is_refused_with_its_span(dataset: Dataset) -> None:
    with pytest.raises(SplitError, match=r"too short.*2026-05-03"):
        time_split(dataset, test_weeks=20, validation_weeks=10)
    with pytest.raises(SplitError, match="test_weeks ≥ 1"):
        time_split(dataset, test_weeks=0)


def test_empty_windows_are_refused(dataset: Dataset, community: SyntheticCommunity) -> None:
    early = dataset.until("2026-09-01")
    with pytest.raises(SplitError, match=r"test window.*has no events"):
        time_split(early, validation_weeks=0, end="2026-11-01")
    frames = dict(community.frames)
    times = pd.to_datetime(frames["interactions"][C.TIMESTAMP])
    frames["interactions"] = frames["interactions"][(times < "2026-09-01") | (times >= "2026-10-20")]
    with pytest.raises(SplitError, match=r"validation window.*has no events"):
        time_split(Dataset.from_frames(**frames))
    (r1, *_), (s1, *_) = _ids(community)
    only_views = _with_events(community, [(r1, s1, "2026-01-01 10:00", "use", np.nan),
                                          (r1, s1, "2026-03-01 10:00", "view", np.nan)])
    quiet = time_split(only_views, test_weeks=1, validation_weeks=0)
    assert quiet.validation_start == quiet.test_start
    with pytest.raises(SplitError, match="no positive events"):
        quiet.truth(only_views, "test")
    with pytest.raises(SplitError, match="unknown window"):
        quiet.bounds("holdout")  # type: ignore[arg-type]


def test_models_fitted_before_train_until_never_see_the_test_window(split: TimeSplit, dataset: Dataset) -> None:
    history = dataset.until(split.train_until)
    assert history.interactions[C.TIMESTAMP].max() < split.test_start
    assert len(history.interactions) + len(split.events(dataset, "test")) == len(dataset.interactions)


# ----- stratified split ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    """A MovieLens-like table: 300 users, 80 items, skewed popularity, a non-default index."""
    rng = np.random.default_rng(3)
    n = 6000
    frame = pd.DataFrame({C.RESIDENT: rng.integers(1, 301, n).astype(str),
                          C.SERVICE: (rng.zipf(1.6, n) % 80).astype(str),
                          C.RATING: rng.integers(1, 6, n).astype(float)})
    frame = frame.drop_duplicates([C.RESIDENT, C.SERVICE])
    return frame.set_axis(pd.RangeIndex(100, 100 + 3 * len(frame), 3))


@pytest.mark.parametrize("variant", ["current", "legacy"])
@pytest.mark.parametrize(("filter_by", "column"), [("item", C.SERVICE), ("user", C.RESIDENT)])
def test_each_group_keeps_the_ratio(ratings: pd.DataFrame, variant: str, filter_by: str, column: str) -> None:
    train, test = stratified_split(ratings, 0.75, seed=42, filter_by=filter_by, variant=variant)  # type: ignore[arg-type]
    assert train.index.intersection(test.index).empty
    assert train.index.union(test.index).sort_values().equals(ratings.index)
    sizes = ratings[column].value_counts()
    in_train = train[column].value_counts().reindex(sizes.index, fill_value=0)
    assert (in_train == np.round(0.75 * sizes)).all()  # round half to even: 2 → 2, 6 → 4, 10 → 8


@pytest.mark.parametrize("variant", ["current", "legacy"])
def test_stratified_split_is_reproducible_by_seed(ratings: pd.DataFrame, variant: str) -> None:
    first, _ = stratified_split(ratings, seed=42, variant=variant)  # type: ignore[arg-type]
    again, _ = stratified_split(ratings, seed=42, variant=variant)  # type: ignore[arg-type]
    other, _ = stratified_split(ratings, seed=7, variant=variant)  # type: ignore[arg-type]
    assert first.equals(again)
    assert not first.index.sort_values().equals(other.index.sort_values())


def test_min_rating_drops_small_groups_first(ratings: pd.DataFrame) -> None:
    sizes = ratings[C.SERVICE].value_counts()
    train, test = stratified_split(ratings, min_rating=10)
    kept = set(train[C.SERVICE]) | set(test[C.SERVICE])
    assert kept == set(sizes[sizes >= 10].index)
    assert len(train) + len(test) == sizes[sizes >= 10].sum()


def test_current_variant_reproduces_recommenders_row_for_row(ratings: pd.DataFrame) -> None:
    # recommenders ≥ 1.1: np.random.seed(seed); key = np.random.rand(n); sort by (item, key);
    # train = rows whose 1-based rank in the item is ≤ round(ratio · count)
    np.random.seed(42)
    key = np.random.rand(len(ratings))
    expected_train, expected_test = [], []
    for item in sorted(ratings[C.SERVICE].unique()):
        rows = np.flatnonzero(ratings[C.SERVICE].to_numpy() == item)
        rows = rows[np.argsort(key[rows])]
        cut = round(0.75 * len(rows))
        expected_train += list(ratings.index[rows[:cut]])
        expected_test += list(ratings.index[rows[cut:]])
    train, test = stratified_split(ratings, 0.75, seed=42, filter_by="item")
    assert list(train.index) == expected_train and list(test.index) == expected_test


def test_legacy_variant_reproduces_reco_utils_row_for_row(ratings: pd.DataFrame) -> None:
    # reco_utils: for each item group, group.sample(frac=1, random_state=seed), first round(ratio · n) to train
    expected_train, expected_test = [], []
    for _, group in ratings.groupby(C.SERVICE, sort=True):
        shuffled = group.sample(frac=1, random_state=42)
        cut = round(0.75 * len(shuffled))
        expected_train += list(shuffled.index[:cut])
        expected_test += list(shuffled.index[cut:])
    train, test = stratified_split(ratings, 0.75, seed=42, filter_by="item", variant="legacy")
    assert list(train.index) == expected_train and list(test.index) == expected_test


def test_stratified_split_refuses_bad_arguments(ratings: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="ratio"):
        stratified_split(ratings, ratio=1.0)
    with pytest.raises(ValueError, match="min_rating"):
        stratified_split(ratings, min_rating=0)
    with pytest.raises(ValueError, match="filter_by"):
        stratified_split(ratings, filter_by="movie")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lack column"):
        stratified_split(ratings.rename(columns={C.SERVICE: "itemID"}))
