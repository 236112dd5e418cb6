from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.columns import Vocab
from understanding.lexicon import LexiconError, load_lexicon
from understanding.model import RequestModel


def test_shipped_lexicon_covers_every_category_service_and_complaint_kind(services: pd.DataFrame) -> None:
    lexicon = load_lexicon()
    assert set(lexicon.categories) == set(Vocab.SERVICE_CATEGORIES)
    assert set(services["name_zh"]) <= set(lexicon.services)
    assert set(lexicon.complaints) == {"noise", "repairs", "neighbour", "fraud"}
    assert lexicon.display("category", "elderly_care") == "养老服务 (elderly care)"


def test_an_extra_file_adds_terms_without_removing_any(tmp_path: Path) -> None:
    extra = tmp_path / "ours.toml"
    extra.write_text('[service."老年助餐"]\nterms = ["吃口热乎饭", "助餐"]\n', encoding="utf-8")
    base, merged = load_lexicon(), load_lexicon([extra])
    assert merged.services["老年助餐"][: len(base.services["老年助餐"])] == base.services["老年助餐"]
    assert merged.services["老年助餐"].count("助餐") == 1
    assert "吃口热乎饭" in merged.services["老年助餐"]


@pytest.mark.parametrize(("content", "says"), [
    ("[service.x]\nterms = 'one'", "must be a list of non-empty strings"),
    ("[service.x]\nterms = ['']", "must be a list of non-empty strings"),
    ("[services.x]\nterms = ['a']", "unknown section"),
    ("[service.x\n", "not valid TOML"),
])
def test_a_bad_lexicon_file_is_named_in_the_error(tmp_path: Path, content: str, says: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError, match=says) as info:
        load_lexicon([bad])
    assert str(bad) in str(info.value)


def test_a_missing_lexicon_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="does not exist"):
        load_lexicon([tmp_path / "nope.toml"])


def test_an_operator_teaches_a_colloquial_phrase_without_code(services: pd.DataFrame, tmp_path: Path) -> None:
    no_corpus = pd.DataFrame(columns=["text", "category"])
    phrase = "想找人陪着遛弯儿"
    before = RequestModel.build(services, corpus=no_corpus).understand(phrase)
    assert [m.name_zh for m in before.services[:1]] != ["邻里互助"]
    extra = tmp_path / "ours.toml"
    extra.write_text('[service."邻里互助"]\nterms = ["遛弯儿"]\n', encoding="utf-8")
    after = RequestModel.build(services, corpus=no_corpus, lexicon_paths=[extra]).understand(phrase)
    assert after.services[0].name_zh == "邻里互助"
    assert "遛弯儿" in after.services[0].matched


@pytest.fixture(scope="module")
def lexicon_only(services: pd.DataFrame) -> RequestModel:
    return RequestModel.build(services, corpus=pd.DataFrame(columns=["text", "category"]))


@pytest.mark.parametrize(("text", "term", "service", "category"), [
    ("想请个育儿嫂", "育儿嫂", "家政服务", "convenience"),
    ("社区有没有剃头的", "剃头", "便民理发", "convenience"),
    ("时间币怎么用", "时间币", "时间银行", "volunteering"),
    ("想找个副业干干", "副业", "灵活就业对接", "employment"),
    ("有人说是安全账户让我转钱", "安全账户", "反诈宣传", "legal_social"),
    ("想上自习没座位", "上自习", "社区自习室", "youth_study"),
])
def test_the_shipped_lexicon_knows_residents_everyday_words(lexicon_only: RequestModel, text: str, term: str,
                                                             service: str, category: str) -> None:
    u = lexicon_only.understand(text)
    assert u.services[0].name_zh == service and term in u.services[0].matched
    assert u.category == category
