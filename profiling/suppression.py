"""Small-cell suppression of count tables: the one rule both report builders (reports, demand) apply.

Primary suppression hides every count below ``k`` (a hidden total hides its whole row); complementary suppression
then hides the smallest visible cell wherever exactly one cell of a row (among the segment columns) or of a column
(among siblings of one parent) is hidden, so no hidden count can be recovered by subtraction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def suppression_mask(values: np.ndarray, parents: np.ndarray, segment_cols: list[int], k: int) -> np.ndarray:
    """Primary suppression of counts below ``k`` plus complementary suppression.

    Parameters
    ----------
    values : numpy.ndarray
        Counts, one row per unit; column 0 is the unit's total.
    parents : numpy.ndarray
        Each row's parent unit; sibling rows are protected against differencing.
    segment_cols : list of int
        Columns that sum to the total; a row with one hidden cell among them hides another.
    k : int
        Smallest count shown.

    Returns
    -------
    numpy.ndarray
        Boolean mask of the cells to hide, shaped like ``values``.
    """
    hidden = values < k
    hidden[hidden[:, 0]] = True
    groups = [np.flatnonzero(parents == p) for p in pd.unique(parents)]
    changed = True
    while changed:
        changed = False
        for i in np.flatnonzero(hidden[:, segment_cols].sum(axis=1) == 1):
            changed |= _hide_smallest(values[i, segment_cols], hidden[i], segment_cols)
        for rows in groups:
            if len(rows) < 2:
                continue
            sub = hidden[rows]
            for j in np.flatnonzero(sub.sum(axis=0) == 1):
                column = hidden[:, j]
                changed |= _hide_smallest(values[rows, j], column, list(rows))
    return hidden


def _hide_smallest(candidates: np.ndarray, hidden: np.ndarray, positions: list[int]) -> bool:
    """Hide the smallest still-visible cell among ``positions`` of the mask view ``hidden``."""
    visible = [(v, p) for v, p in zip(candidates, positions, strict=True) if not hidden[p]]
    if not visible:
        return False
    hidden[min(visible)[1]] = True
    return True
