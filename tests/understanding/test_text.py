from __future__ import annotations

import pytest

from understanding.model import RequestModel
from understanding.text import MAX_TEXT_LENGTH, normalise, pinyin_key


@pytest.mark.parametrize(("text", "says"), [
    ("", "empty"),
    ("   \n\t", "empty"),
    ("😀🙏🙏", "only emoji"),
    ("？！…", "only emoji"),
    ("办" * (MAX_TEXT_LENGTH + 1), f"at most {MAX_TEXT_LENGTH}"),
    (42, "must be a string"),
    (None, "must be a string"),
])
def test_bad_text_is_refused_with_the_reason(text: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        RequestModel.validate_text(text)


def test_valid_text_is_stripped_and_the_limit_is_inclusive() -> None:
    assert RequestModel.validate_text("  我要办居住证 \n") == "我要办居住证"
    assert RequestModel.validate_text("办" * MAX_TEXT_LENGTH) == "办" * MAX_TEXT_LENGTH
    assert RequestModel.validate_text("ok 👍") == "ok 👍"


def test_traditional_variant_and_full_width_text_normalise_to_one_spelling() -> None:
    assert normalise("居住証辦理") == normalise("居住證辦理") == normalise("居住证办理") == "居住证办理"
    assert normalise("ＨＰＶ  疫苗") == "hpv 疫苗"


def test_homophones_and_pinyin_input_share_a_pinyin_key() -> None:
    assert pinyin_key("居住证") == pinyin_key("据住正") == pinyin_key("ju zhu zheng") == "juzhuzheng"
