"""Grouped folds for cross-validation inside the train part."""

import pandas as pd
import pytest

from understanding.corpus import load_corpus, split_corpus
from understanding.cv import group_folds


def test_folds_keep_whole_situations_together_and_cover_every_row() -> None:
    train = split_corpus(load_corpus())[0]
    folds = group_folds(train, 5, seed=0)
    assert set(folds) == {0, 1, 2, 3, 4}
    assert (train.assign(fold=folds).groupby("group")["fold"].nunique() == 1).all()
    sizes = pd.Series(folds).value_counts()
    assert sizes.max() - sizes.min() <= 0.1 * len(train)


def test_folds_refuse_an_impossible_k() -> None:
    frame = pd.DataFrame({"group": ["a", "a", "b"]})
    with pytest.raises(ValueError, match="cv folds"):
        group_folds(frame, 3)
    with pytest.raises(ValueError, match="cv folds"):
        group_folds(frame, 1)
