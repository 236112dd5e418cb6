from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from features.columns import Vocab
from understanding.corpus import DEFAULT_CORPUS, CorpusError, check_corpus, load_corpus, split_corpus
from understanding.corpus_maker import COLUMNS, make_corpus


def test_the_shipped_corpus_covers_every_service_category_register_and_complaint(services: pd.DataFrame) -> None:
    corpus = load_corpus()
    assert len(corpus) >= 800
    assert set(corpus["category"]) == set(Vocab.SERVICE_CATEGORIES)
    assert set(services["service_id"]) <= set(corpus["service_id"])
    assert {"elderly_spoken", "parent_hurry", "migrant_worker", "noisy", "plain"} == set(corpus["register"])
    assert {"noise", "repairs", "neighbour", "fraud"} <= set(corpus["complaint"])
    assert corpus["text"].str.len().max() <= 500
    assert corpus["text"].is_unique


def test_the_shipped_corpus_is_what_the_maker_writes() -> None:
    with DEFAULT_CORPUS.open(encoding="utf-8", newline="") as f:
        shipped = list(csv.DictReader(f))
    assert shipped == make_corpus()
    assert list(shipped[0]) == list(COLUMNS)


def test_the_split_is_fixed_and_keeps_situations_on_one_side() -> None:
    corpus = load_corpus()
    train, test = split_corpus(corpus)
    again_train, again_test = split_corpus(corpus)
    assert train.equals(again_train) and test.equals(again_test)
    assert set(train["group"]).isdisjoint(test["group"])
    assert len(train) + len(test) == len(corpus)
    assert 0.15 < len(test) / len(corpus) < 0.35
    assert set(test["category"]) == set(corpus["category"])


def test_a_corpus_without_groups_splits_row_by_row() -> None:
    frame = check_corpus(pd.DataFrame({"text": [f"t{i}" for i in range(40)], "category": ["a", "b"] * 20}))
    train, test = split_corpus(frame)
    assert len(test) == 10 and len(train) == 30


@pytest.mark.parametrize(("frame", "says"), [
    (pd.DataFrame({"text": ["x"]}), "no column"),
    (pd.DataFrame({"text": ["x", " "], "category": ["a", "b"]}), "rows \\[3\\].*empty 'text'"),
    (pd.DataFrame({"text": [], "category": []}), "no rows"),
])
def test_a_bad_corpus_names_the_problem(frame: pd.DataFrame, says: str) -> None:
    with pytest.raises(CorpusError, match=says):
        check_corpus(frame)


def test_a_missing_corpus_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "none.csv")
