"""The resident × service matrix collaborative filtering learns from counts actions, not exposure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import Columns as C
from features import Dataset
from recommenders.interactions import EventWeights, interaction_matrix


def test_impressions_alone_never_enter_the_matrix(dataset: Dataset) -> None:
    events = dataset.interactions
    kinds = events.groupby([C.RESIDENT, C.SERVICE], observed=True)[C.EVENT].agg(lambda e: set(e.astype(str)))
    only_seen = kinds[kinds.map(lambda e: e == {"impression"})].index
    used = kinds[kinds.map(lambda e: "use" in e)].index
    assert len(only_seen) and len(used)
    matrix = interaction_matrix(dataset).toarray()
    counted = interaction_matrix(dataset, weights=EventWeights(impression=0.1)).toarray()

    def cells(m: np.ndarray, pairs: pd.MultiIndex) -> np.ndarray:
        residents = dataset.resident_ids.to_internal(pairs.get_level_values(0))
        return m[residents, dataset.service_ids.to_internal(pairs.get_level_values(1))]

    assert (cells(matrix, only_seen) == 0).all()
    assert (cells(matrix, used) > 0).all()
    assert (cells(counted, only_seen) > 0).all()  # a config may still count exposure
