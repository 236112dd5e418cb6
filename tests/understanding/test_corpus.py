from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from features.columns import Vocab
from understanding.corpus import (
    DEFAULT_CORPUS,
    SHIPPED_CORPORA,
    CorpusError,
    check_corpus,
    load_corpus,
    split_corpus,
)
from understanding.corpus_maker import COLUMNS, SHIPPED, make_corpus


def test_the_shipped_corpus_covers_every_service_category_register_and_complaint(services: pd.DataFrame) -> None:
    corpus = load_corpus()
    assert len(corpus) >= 800
    assert set(corpus["category"]) == set(Vocab.SERVICE_CATEGORIES)
    assert set(services["service_id"]) <= set(corpus["service_id"])
    assert {"elderly_spoken", "parent_hurry", "migrant_worker", "noisy", "plain"} == set(corpus["register"])
    assert {"noise", "repairs", "neighbour", "fraud"} <= set(corpus["complaint"])
    assert corpus["text"].str.len().max() <= 500
    assert corpus["text"].is_unique
    assert set(corpus["source"]) == {p.name for p in SHIPPED_CORPORA}


@pytest.mark.parametrize(("situations", "path", "prefix"), SHIPPED, ids=[p.name for _, p, _ in SHIPPED])
def test_the_shipped_corpus_is_what_the_maker_writes(situations: Path, path: Path, prefix: str) -> None:
    with path.open(encoding="utf-8", newline="") as f:
        shipped = list(csv.DictReader(f))
    assert shipped == make_corpus(situations=situations, group_prefix=prefix)
    assert list(shipped[0]) == list(COLUMNS)


def test_a_later_corpus_file_moves_no_earlier_request_across_the_split() -> None:
    train, test = split_corpus(load_corpus())
    first_train, first_test = split_corpus(load_corpus(DEFAULT_CORPUS))
    assert train[train["source"] == DEFAULT_CORPUS.name].reset_index(drop=True).equals(first_train)
    assert test[test["source"] == DEFAULT_CORPUS.name].reset_index(drop=True).equals(first_test)
    assert (train["source"] != DEFAULT_CORPUS.name).any() and (test["source"] != DEFAULT_CORPUS.name).any()


def test_corpus_files_are_read_in_order_and_may_not_share_a_situation(tmp_path: Path) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    pd.DataFrame({"text": ["a", "b"], "category": ["x", "y"], "group": ["g1", "g2"]}).to_csv(first, index=False)
    pd.DataFrame({"text": ["c"], "category": ["x"], "group": ["g3"]}).to_csv(second, index=False)
    both = load_corpus([first, second])
    assert both["text"].tolist() == ["a", "b", "c"]
    assert both["source"].tolist() == ["first.csv", "first.csv", "second.csv"]
    pd.DataFrame({"text": ["c"], "category": ["x"], "group": ["g2"]}).to_csv(second, index=False)
    with pytest.raises(CorpusError, match=r"second.csv reuses group\(s\) \['g2'\].*own prefix"):
        load_corpus([first, second])
    with pytest.raises(CorpusError, match="no corpus file"):
        load_corpus([])


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
