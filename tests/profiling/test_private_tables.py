"""The planner tables under differential privacy: consistent roll-ups, stable noise, exact tables when off."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from features import Columns, Dataset, Vocab
from privacy.dp import EPSILON_SETTING, KEY_SETTING, PlannerDp, PlannerPrivacyError
from profiling import ReportConfig, build_reports
from profiling.profile import planner_release
from profiling.reports import SegmentReport
from tests.profiling.frames import tiny_dataset

SIZES = {"C1": 60, "C2": 80, "C3": 40, "C4": 90}
KEY = b"profiling test noise key"


def _inputs() -> tuple[Dataset, pd.DataFrame, pd.Series]:
    dataset = tiny_dataset(SIZES, uses={"C1": ["health", "convenience"], "C2": ["health"], "C4": ["childcare"]})
    ids = dataset.residents[Columns.RESIDENT].to_numpy(dtype=object)
    position = np.arange(len(ids))
    tags = pd.DataFrame(
        {p: position % (i + 2) == 0 for i, p in enumerate(Vocab.PERSONAS)}, index=pd.Index(ids, name=Columns.RESIDENT)
    )
    return dataset, tags, pd.Series(position % 3, index=tags.index, name="segment")


@cache  # each distinct release is built once per session
def _report(epsilon: float = 1.0, version: str = "v1", k: int = 1, key: bytes = KEY) -> SegmentReport:
    dataset, tags, segments = _inputs()
    return build_reports(dataset, tags, segments, ReportConfig(k=k), dp=PlannerDp(epsilon, key, version))


def _counts(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c == "residents" or c.startswith(("persona_", "segment_"))]


def test_streets_and_districts_are_the_sums_of_their_noisy_communities() -> None:
    report = _report(epsilon=0.5, k=1)
    checked = 0
    for child, parent, key in (
        (report.community, report.street, Columns.STREET),
        (report.street, report.district, Columns.DISTRICT),
    ):
        for column in _counts(child):
            for unit, rows in child.groupby(key):
                cells = [*rows[column].tolist(), parent.loc[unit, column]]
                if any(v is None for v in cells):
                    continue
                assert sum(cells[:-1]) == cells[-1], (column, unit)
                checked += 1
    assert checked > 20
    for level in ("street", "district"):
        checked = 0
        for table, keys in ((report.usage, ["persona", "category"]), (report.monthly, ["month"])):
            counted = ["users", "raters", "demand", "unmet"] if table is report.usage else _counts_monthly(table)
            checked += _check_long(table, level, keys, counted, report)
        assert checked > 50, level


def _counts_monthly(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c == "active" or c.startswith("persona_")]


def _check_long(table: pd.DataFrame, level: str, keys: list[str], counted: list[str], report: SegmentReport) -> int:
    child_level = {"street": "community", "district": "street"}[level]
    child_key = {"street": Columns.STREET, "district": Columns.DISTRICT}[level]
    parent_of = report.level(child_level)[child_key].astype(str).to_dict()
    children = table[table["level"] == child_level].assign(parent=lambda f: f["unit_id"].map(parent_of))
    parents = table[table["level"] == level].set_index(["unit_id", *keys])
    checked = 0
    for (parent, *rest), rows in children.groupby(["parent", *keys]):
        for column in counted:
            values = rows[column].tolist()
            total = parents.loc[(parent, *rest), column]
            if total is None or any(v is None for v in values):
                continue
            assert sum(values) == total, (level, parent, rest, column)
            checked += 1
    return checked


def test_counts_are_non_negative_integers_shares_from_them_and_residents_the_sum_of_segments() -> None:
    report = _report(epsilon=1.0, k=1)
    for frame in (report.community, report.street, report.district):
        for column in _counts(frame):
            shown = [v for v in frame[column] if v is not None]
            assert all(isinstance(v, int | np.integer) and v >= 0 for v in shown)
        segments = [c for c in frame.columns if c.startswith("segment_")]
        full = frame[frame[[*segments, "residents"]].notna().all(axis=1)]
        assert (full[segments].sum(axis=1).astype(int) == full["residents"].astype(int)).all()
        for persona in Vocab.PERSONAS:
            for _, row in frame[frame[f"share_{persona}"].notna() & frame["residents"].notna()].iterrows():
                share = min(row[f"persona_{persona}"] / max(row["residents"], 1), 1.0)
                assert row[f"share_{persona}"] == round(share, 4)
    assert report.privacy is not None and report.privacy["epsilon"] == 1.0
    assert set(report.privacy["tables"]) == {"segments", "usage", "monthly"}
    assert report.privacy["tables"]["segments"]["sensitivity"] == len(Vocab.PERSONAS) + 1


def test_uses_and_mean_rating_are_not_released_and_not_marked_suppressed() -> None:
    usage = _report(epsilon=1.0, k=1).usage
    assert usage["uses"].isna().all() and usage["mean_rating"].isna().all()
    assert not any({"uses", "mean_rating"} & set(s) for s in usage["suppressed"])


def test_the_same_version_gives_the_same_tables_and_a_new_version_new_noise() -> None:
    first, again = _report(version="v1"), _report(version="v1")
    for name in ("community", "street", "district", "usage", "monthly"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
    other = _report(version="v2")
    assert not first.community["residents"].equals(other.community["residents"])
    assert not first.community["residents"].equals(_report(version="v1", key=b"other key").community["residents"])


def test_k_suppression_still_applies_to_the_noisy_counts() -> None:
    report = _report(epsilon=0.5, k=25)
    for frame in (report.community, report.street, report.district):
        for column in _counts(frame):
            assert all(v >= 25 for v in frame[column] if v is not None)
    shown = report.usage["users"].dropna()
    assert (shown.astype(int) >= 25).all() and report.usage["users"].isna().any()


def test_every_community_gets_a_row_even_without_residents() -> None:
    dataset, tags, segments = _inputs()
    keep = ~tags.index.str.startswith("C3")
    report = build_reports(dataset, tags[keep], segments[keep], ReportConfig(k=1), dp=PlannerDp(1.0, KEY, "v"))
    assert "C3" in report.community.index  # the row set is the public list of communities, not the data's


def test_off_by_default_the_tables_are_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EPSILON_SETTING, raising=False)
    dataset, tags, segments = _inputs()
    assert planner_release(dataset, tags, segments) is None
    exact = build_reports(dataset, tags, segments, ReportConfig(k=1))
    assert exact.privacy is None
    assert exact.community["residents"].to_dict() == SIZES
    assert exact.usage["uses"].notna().any()


def test_the_setting_turns_it_on_and_a_bad_value_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    dataset, tags, segments = _inputs()
    monkeypatch.setenv(EPSILON_SETTING, "2")
    monkeypatch.setenv(KEY_SETTING, "k")
    release = planner_release(dataset, tags, segments)
    assert release is not None and release.epsilon == 2.0
    assert release.version == planner_release(dataset, tags, segments).version  # type: ignore[union-attr]
    assert release.version != planner_release(dataset, tags, segments.iloc[::-1]).version  # type: ignore[union-attr]
    for bad in ("0", "nan", "one"):
        monkeypatch.setenv(EPSILON_SETTING, bad)
        with pytest.raises(PlannerPrivacyError, match=EPSILON_SETTING):
            planner_release(dataset, tags, segments)
