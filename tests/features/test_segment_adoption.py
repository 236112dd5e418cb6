"""Take-up of a service within the resident's residency segment, on a hand-made history with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import Columns as C
from features import Dataset
from features.feature_registry import REGISTRY, FeatureSet
from features.pipeline import FeaturePipeline
from tests.features.test_pipeline import CUTOFF, _frames, _residents

SEGMENT = ["segment_reach", "segment_lift", "segment_adoption", "segment_category_lift"]


def _dataset() -> Dataset:
    # r1 and r4 are registered, r2 floating, r3 of unknown status. Besides the shared history (r1 uses "elder"
    # on 09-07, r2 books "child" on 09-28: both within 28 days of the 10-01 cut-off, r2 views "job"), r1 used
    # "job" long before and r4, a registered pensioner like r1, uses "elder" on 09-10.
    frames = _frames()
    frames["residents"] = pd.concat([frames["residents"], frames["residents"].iloc[[0]].assign(**{C.RESIDENT: "r4"})],
                                    ignore_index=True)
    events = [("r1", "job", "2026-08-01 09:00", "use", None, "offline"),
              ("r4", "elder", "2026-09-10 09:00", "use", None, "offline")]
    extra = pd.DataFrame(events, columns=frames["interactions"].columns)
    frames["interactions"] = pd.concat([frames["interactions"], extra], ignore_index=True)
    return Dataset.from_frames(**frames)


@pytest.fixture(scope="module")
def pipeline() -> FeaturePipeline:
    config = FeatureSet.default().to_dict()
    config["cross"]["features"] = ["segment_<stat>"]
    return FeaturePipeline(FeatureSet.from_dict(config)).fit(_dataset(), CUTOFF)


def _cross(pipeline: FeaturePipeline, pairs: list[tuple[str, str]], **kwargs: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(pairs, columns=[C.RESIDENT, C.SERVICE])
    return pipeline.cross_features(frame, **kwargs)


def test_the_family_is_registered() -> None:
    assert REGISTRY["segment_<stat>"].columns == tuple(SEGMENT)


def test_reach_is_the_share_of_the_residents_segment_who_consumed_it(pipeline: FeaturePipeline) -> None:
    x = _cross(pipeline, [("r1", "job"), ("r4", "job"), ("r2", "job"), ("r3", "job"), ("r2", "child"),
                          ("r1", "child"), ("r1", "elder")])
    # "job": one of the two registered residents (r2's view is no use); "child": the one floating resident
    assert x["segment_reach"].tolist() == [0.5, 0.5, 0, 0, 1, 0, 1]
    # "job" reached 1 of 4 residents, half the registered; "child" 1 of 4, all the floating; "elder" 2 of 4
    assert x["segment_lift"].tolist() == pytest.approx([2, 2, 0, 0, 4, 0, 2])


def test_adoption_counts_first_uses_in_the_last_four_weeks_among_those_without_it(pipeline: FeaturePipeline) -> None:
    x = _cross(pipeline, [("r1", "elder"), ("r2", "child"), ("r4", "job"), ("r2", "job")])
    assert x.loc[0, "segment_adoption"] == 1  # both registered residents first used "elder" since 09-03
    assert x.loc[1, "segment_adoption"] == 1
    assert x.loc[2, "segment_adoption"] == 0  # r1 had "job" before; r4, the one left, did not take it up
    assert x.loc[3, "segment_adoption"] == 0


def test_category_lift_compares_the_resident_with_their_segment(pipeline: FeaturePipeline) -> None:
    shares = pipeline.resident_features(["r1", "r4"])[["share_elderly_care", "share_employment"]]
    x = _cross(pipeline, [("r1", "elder"), ("r4", "elder"), ("r1", "job"), ("r4", "job"), ("r2", "child"),
                          ("r2", "elder")])
    mean = shares.mean()  # the registered segment: r1 and r4
    assert x.loc[0, "segment_category_lift"] == pytest.approx(shares.loc["r1", "share_elderly_care"]
                                                              / mean["share_elderly_care"])
    assert x.loc[1, "segment_category_lift"] > 1 > x.loc[0, "segment_category_lift"]  # r4 used elderly care only
    assert x.loc[2, "segment_category_lift"] == pytest.approx(2.0) and x.loc[3, "segment_category_lift"] == 0
    assert x.loc[4, "segment_category_lift"] == 1  # r2 is the floating segment's only history
    assert np.isnan(x.loc[5, "segment_category_lift"])  # no floating resident used elderly care: nothing to compare


def test_a_cold_start_resident_reads_their_segment_without_changing_it(pipeline: FeaturePipeline) -> None:
    newcomer = _residents().iloc[[1]].assign(**{C.RESIDENT: "new"})  # floating, like r2
    x = _cross(pipeline, [("new", "child"), ("r2", "child")], profile_rows=newcomer)
    assert x.loc[0, "segment_reach"] == 1 and x.loc[0, "segment_adoption"] == 1
    assert x.loc[0, "segment_category_lift"] == 0  # no history of their own
    alone = _cross(pipeline, [("r2", "child")])
    assert alone.loc[0].tolist() == x.loc[1].tolist()
