"""Segment reports: roll-up community → street → district, Chinese names, small-cell suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import Columns, Vocab
from profiling import ReportConfig, build_reports
from profiling.reports import SegmentReport
from tests.profiling.frames import tiny_dataset

SIZES = {"C1": 25, "C2": 30, "C3": 5, "C4": 40}


def _report(k: int = 10) -> tuple[SegmentReport, pd.DataFrame, pd.Series]:
    dataset = tiny_dataset(SIZES, uses={"C1": ["health", "convenience"], "C2": ["health"],
                                        "C4": ["childcare"]})
    ids = dataset.residents[Columns.RESIDENT].to_numpy(dtype=object)
    position = np.arange(len(ids))
    tags = pd.DataFrame({p: position % (i + 2) == 0 for i, p in enumerate(Vocab.PERSONAS)},
                        index=pd.Index(ids, name=Columns.RESIDENT))
    segments = pd.Series(position % 3, index=tags.index, name="segment")
    return build_reports(dataset, tags, segments, ReportConfig(k=k)), tags, segments


def test_rows_roll_up_with_chinese_names() -> None:
    report, _, _ = _report(k=1)  # k=1 suppresses nothing
    assert report.community.loc["C1", Columns.COMMUNITY_NAME] == "社区C1"
    assert report.community.loc["C1", Columns.STREET_NAME] == "街道S1"
    assert report.street.loc["S1", Columns.DISTRICT_NAME] == "区D1"
    assert report.district["residents"].to_dict() == {"D1": 60, "D2": 40}
    assert report.street.loc["S1", "residents"] == 55
    street = report.community.groupby(Columns.STREET)[["residents", "persona_elderly", "segment_1"]].sum()
    assert (street.astype(int) == report.street[["residents", "persona_elderly", "segment_1"]]
            .astype(int).loc[street.index]).all().all()


def test_shares_and_top_categories() -> None:
    report, tags, _ = _report(k=1)
    c1 = tags.index.str.startswith("C1")
    assert report.community.loc["C1", "share_elderly"] == round(tags.loc[c1, "elderly"].mean(), 4)
    assert report.community.loc["C1", "top_categories"] == ["convenience", "health"]
    assert report.district.loc["D1", "top_categories"] == ["health", "convenience"]  # 55 vs 25 uses
    assert report.district.loc["D2", "top_categories"] == ["childcare"]


def test_small_cells_are_suppressed_and_listed() -> None:
    report, _, _ = _report(k=10)
    c3 = report.community.loc["C3"]
    assert c3["residents"] is None and c3["share_elderly"] is None and c3["segment_0"] is None
    assert "residents" in c3["suppressed"] and c3["top_categories"] == []
    c1 = report.community.loc["C1"]
    assert c1["residents"] == 25
    assert c1["persona_job_seeker"] is None  # 25 residents, every 8th: 4 < 10
    assert "persona_job_seeker" in c1["suppressed"] and "share_job_seeker" in c1["suppressed"]
    records = report.to_records("community")
    assert next(r for r in records if r[Columns.COMMUNITY] == "C3")["residents"] == "<10"


def test_a_category_needs_k_users_to_be_listed() -> None:
    report, _, _ = _report(k=26)
    assert report.street.loc["S1", "top_categories"] == ["health"]  # 55 users; convenience only 25


def test_no_suppressed_count_is_recoverable_by_subtraction() -> None:
    report, _, segments = _report(k=10)
    n_segments = int(segments.max()) + 1
    parents = {"community": Columns.STREET, "street": Columns.DISTRICT, "district": None}
    for level, parent in parents.items():
        frame = report.level(level)
        hidden = frame.map(lambda v: v is None)
        segment_cols = [f"segment_{s}" for s in range(n_segments)]
        # segments partition residents: never exactly one hidden among them while the total is shown
        shown_total = ~hidden["residents"]
        assert not (shown_total & (hidden[segment_cols].sum(axis=1) == 1)).any(), level
        # units partition their parent: never exactly one hidden unit in a column of a parent
        groups = hidden.groupby(frame[parent]) if parent else hidden.groupby(np.zeros(len(frame)))
        for _, group in groups:
            if len(group) > 1:
                counts = [c for c in frame.columns if c == "residents" or c.startswith(("persona_", "segment_"))]
                assert not (group[counts].sum(axis=0) == 1).any(), level


def test_unknown_level_is_refused() -> None:
    report, _, _ = _report()
    try:
        report.level("province")
    except ValueError as error:
        assert "community, street or district" in str(error)
    else:
        raise AssertionError("level('province') should raise")
