"""The RecBole / MovieLens adapter: typed-header parsing, the mapping into Linli's contracts, the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.columns import Columns as C
from features.errors import DataValidationError, SourceError
from features.sources.movielens import (
    ML100K,
    SOURCE_ROW,
    fetch_movielens_100k,
    load_recbole,
    read_atomic,
)
from tests.movielens_data import movielens_folder

INTER = ("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
         "1\t10\t5\t881250949\n2\t10\t1\t891717742\n2\t20\t3\t878887116\n3\t30\t4\t880606923\n")
USER = ("user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        "1\t24\tM\tretired\t85711\n2\t53\tF\thomemaker\t94043\n3\t23\tM\tengineer\tT8H1N\n")
ITEM = ("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "10\tToy Story\t1995\tAnimation Children's Comedy\n20\tGoldenEye\t1995\tAction Thriller\n30\tHeat\t\tCrime\n")


def write_folder(folder: Path, name: str = "tiny", inter: str = INTER, user: str = USER, item: str = ITEM) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, text in (("inter", inter), ("user", user), ("item", item)):
        (folder / f"{name}.{suffix}").write_text(text, encoding="utf-8")
    return folder


def test_typed_header_gives_named_columns_and_numbers(tmp_path: Path) -> None:
    frame = read_atomic(write_folder(tmp_path) / "tiny.inter")
    assert list(frame.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert frame["user_id"].tolist() == ["1", "2", "2", "3"]  # tokens stay strings
    assert frame["rating"].tolist() == [5.0, 1.0, 3.0, 4.0]


def test_users_movies_and_ratings_map_into_the_contracts(tmp_path: Path) -> None:
    dataset = load_recbole(write_folder(tmp_path))
    residents = dataset.residents.set_index(C.RESIDENT)
    # the last rating is in 1998: birth year = 1998 - age
    assert residents[C.BIRTH_YEAR].tolist() == [1974, 1945, 1975]
    assert residents[C.EMPLOYMENT].astype(str).tolist() == ["retired", "other", "employed"]
    assert residents["gender"].tolist() == ["M", "F", "M"]
    assert residents.loc["3", C.COMMUNITY] == "zip-T8H"
    services = dataset.services.set_index(C.SERVICE)
    assert services.loc["10", C.CATEGORY] == "Animation;Children's;Comedy"
    assert services.loc["20", C.NAME_EN] == "GoldenEye"
    assert np.isnan(services.loc["30", "release_year"])
    events = dataset.interactions
    assert (events[C.EVENT].astype(str) == "rate").all()
    first = events.sort_values(SOURCE_ROW).iloc[0]
    assert (first[C.RESIDENT], first[C.SERVICE], first[C.RATING]) == ("1", "10", 5.0)
    assert events[C.TIMESTAMP].is_monotonic_increasing
    assert sorted(events[SOURCE_ROW]) == [0, 1, 2, 3]


def test_movielens_1m_occupation_codes_are_understood(tmp_path: Path) -> None:
    user = ("user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
            "1\t1\tF\t10\t48067\n2\t56\tM\t13\t70072\n3\t25\tM\t19\t55117\n")
    dataset = load_recbole(write_folder(tmp_path, user=user))
    assert dataset.residents[C.EMPLOYMENT].astype(str).tolist() == ["student", "retired", "unemployed"]


@pytest.mark.parametrize(("part", "text", "message"), [
    ("inter", "user_id\titem_id:token\n1\t10\n", "header cell 'user_id' is not 'name:type'"),
    ("inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t10\t5\n", "line 2 has 3"),
    ("inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t10\tfive\t881250949\n",
     "line 2, column 'rating': 'five' is not a number"),
    ("inter", "user_id:token\titem_id:token\n1\t10\n", "missing column(s) ['timestamp']"),
    ("user", "age:token\n24\n", "missing column(s) ['user_id']"),
])
def test_malformed_files_are_named_with_line_and_column(tmp_path: Path, part: str, text: str, message: str) -> None:
    folder = write_folder(tmp_path, **{part: text})
    with pytest.raises(SourceError, match="tiny." + part) as error:
        load_recbole(folder)
    assert message in str(error.value)


def test_a_rating_of_an_unknown_movie_is_a_contract_violation(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, inter=INTER + "1\t99\t4\t881250949\n")
    with pytest.raises(DataValidationError, match="unknown service id '99'"):
        load_recbole(folder)


def test_missing_file_and_ambiguous_folder_say_what_to_do(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "tiny.item").unlink()
    with pytest.raises(SourceError, match=r"tiny\.item: no such file"):
        load_recbole(folder)
    write_folder(tmp_path / "two")
    write_folder(tmp_path / "two", name="other")
    with pytest.raises(SourceError, match=r"exactly one NAME\.inter"):
        load_recbole(tmp_path / "two")


def test_offline_and_not_cached_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as error:  # port 9 on loopback refuses at once: no network is touched
        fetch_movielens_100k(tmp_path / "cache", index_url="http://127.0.0.1:9/simple", timeout_s=2)
    text = str(error.value)
    assert "not cached" in text and "recbole==1.2.1" in text and "--data" in text
    assert not (tmp_path / "cache" / ML100K).exists()  # no half-written cache


def test_a_filled_cache_is_used_without_any_download(tmp_path: Path) -> None:
    cached = write_folder(tmp_path / "cache" / ML100K, name=ML100K)
    assert fetch_movielens_100k(tmp_path / "cache", index_url="http://127.0.0.1:9/simple") == cached


def test_real_movielens_100k_maps_every_row(movielens_dir: Path) -> None:
    dataset = load_recbole(movielens_dir)
    assert dataset.summary()["residents"] == 943
    assert dataset.summary()["services"] == 1682
    assert len(dataset.interactions) == 100_000 and not dataset.dropped
    employment = dataset.residents[C.EMPLOYMENT].astype(str).value_counts()
    assert employment["retired"] == 14 and employment["student"] == 196
    assert set(dataset.interactions[C.RATING].unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert dataset.services.set_index(C.SERVICE).loc["1", C.CATEGORY] == "Animation;Children's;Comedy"
    assert pd.Series(dataset.services[C.CATEGORY]).str.contains("Film-Noir").any()


@pytest.fixture(scope="session")
def movielens_dir() -> Path:
    return movielens_folder()
