"""The resident features profiling reads: the default feature set plus behaviour only personas need.

``weekday_work_hours_share`` (Mon–Fri 09–17, when commuters are away) and ``weekday_morning_share``
(Mon–Fri 06–09, when they leave) tell commuters from residents who work locally, who share the evening
peak with them. They are not ranker features, so profiling adds them to the default set.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from features.columns import Columns
from features.dataset import Dataset
from features.feature_registry import FeatureSet
from features.pipeline import FeaturePipeline

#: Resident features profiling adds to the default feature set.
PROFILING_FEATURES: tuple[str, ...] = ("weekday_morning_share", "weekday_work_hours_share")


@cache
def profiling_feature_set() -> FeatureSet:
    """The default feature set with :data:`PROFILING_FEATURES` appended to the resident features."""
    base = FeatureSet.default()
    extra = tuple(f for f in PROFILING_FEATURES if f not in base.resident)
    return FeatureSet(resident=base.resident + extra, service=base.service, cross=base.cross,
                      event_strength=base.event_strength, name="profiling")


def profiling_features(dataset: Dataset, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Resident features of every resident of ``dataset`` at ``cutoff``, indexed by resident id."""
    pipeline = FeaturePipeline(profiling_feature_set()).fit(dataset, cutoff)
    return pipeline.resident_features(dataset.residents[Columns.RESIDENT])
