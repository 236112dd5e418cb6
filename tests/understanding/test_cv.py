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


def test_cv_can_learn_from_some_corpus_files_and_still_score_every_row() -> None:
    from features.sources.synthetic.catalogue import catalogue_frame
    from understanding.corpus import check_corpus
    from understanding.cv import cross_validate

    texts = ["我要办暂住证", "孩子放学没人接", "想找个工作", "社区有没有自习室", "电瓶车在哪充电", "我要打官司",
             "老人中午没饭吃", "想学书法"]
    categories = ["administration", "childcare", "employment", "youth_study", "convenience", "legal_social",
                  "elderly_care", "culture_sports"]
    corpus = check_corpus(pd.DataFrame({"text": texts, "category": categories, "group": [f"g{i}" for i in range(8)],
                                        "source": ["a.csv"] * 4 + ["b.csv"] * 4}))
    report = cross_validate(catalogue_frame(), corpus, 2, learn_from={"a.csv"})
    assert report["requests"] == 8
    assert {name: part["requests"] for name, part in report["by_source"].items()} == {"a.csv": 4, "b.csv": 4}
