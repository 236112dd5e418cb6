"""The contract's small NDCG helper gives the textbook values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from recommenders.base import RANK
from recommenders.testing import ndcg_at_k


def _lists(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[C.RESIDENT, C.SERVICE, RANK])


def test_ndcg_of_hits_at_known_ranks() -> None:
    recs = _lists([("a", "s1", 1), ("a", "s2", 2), ("b", "s1", 1), ("b", "s3", 2)])
    relevant = pd.DataFrame({C.RESIDENT: ["a", "b", "b", "c"], C.SERVICE: ["s1", "s3", "s9", "s1"]})
    # a: hit at 1 of 1 relevant → 1; b: hit at 2 of 2 relevant → (1/log2 3) / (1 + 1/log2 3); c: no list → 0
    b = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert ndcg_at_k(recs, relevant, k=10) == pytest.approx((1 + b + 0) / 3)


def test_hits_below_k_do_not_count() -> None:
    recs = _lists([("a", "s1", 1), ("a", "s2", 2)])
    relevant = pd.DataFrame({C.RESIDENT: ["a"], C.SERVICE: ["s2"]})
    assert ndcg_at_k(recs, relevant, k=1) == 0.0
    assert ndcg_at_k(recs, relevant, k=2) == pytest.approx(1 / np.log2(3))
