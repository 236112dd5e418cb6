"""Model files: a wrong, damaged or missing file is a clear ModelFileError naming it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from features.dataset import Dataset
from recommenders import ModelFileError
from recommenders.ease import EASERecommender
from recommenders.popular import PopularRecommender


def test_a_file_of_another_model_is_refused(dataset: Dataset, tmp_path: Path) -> None:
    path = PopularRecommender().fit(dataset).save(tmp_path / "popular.pkl")
    assert isinstance(PopularRecommender.load(path), PopularRecommender)
    with pytest.raises(ModelFileError, match=r"holds 'popular', not a EASERecommender"):
        EASERecommender.load(path)


@pytest.mark.parametrize("content", [b"not a pickle at all", pickle.dumps({"format": 99}), pickle.dumps([1, 2])])
def test_damaged_or_foreign_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=r"model\.pkl"):
        PopularRecommender.load(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"nowhere\.pkl"):
        PopularRecommender.load(tmp_path / "nowhere.pkl")
