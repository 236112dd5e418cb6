from __future__ import annotations

import pytest

from understanding.redaction import redact


@pytest.mark.parametrize(("text", "secret", "placeholder"), [
    ("我的手机13812345678，请回电", "13812345678", "[手机号]"),
    ("电话 138-1234-5678", "138-1234-5678", "[手机号]"),
    ("联系+86 139 1234 5678", "139 1234 5678", "[手机号]"),
    ("全角１３８１２３４５６７８也算", "１３８１２３４５６７８", "[手机号]"),
    ("身份证号110101199003074518", "110101199003074518", "[身份证号]"),
    ("身份证11010119900307451X办证", "11010119900307451X", "[身份证号]"),
    ("卡号6222021234567890123打钱", "6222021234567890123", "[银行卡号]"),
    ("银行卡 6222 0212 3456 7890", "6222 0212 3456 7890", "[银行卡号]"),
    ("车牌沪A12345被占了车位", "沪A12345", "[车牌号]"),
    ("新能源粤B·D12345", "粤B·D12345", "[车牌号]"),
    ("座机021-62345678找王姐", "021-62345678", "[电话]"),
])
def test_personal_data_is_replaced_by_its_placeholder(text: str, secret: str, placeholder: str) -> None:
    out = redact(text)
    assert placeholder in out
    assert secret not in out
    assert not any(ch.isdigit() for ch in out.replace(placeholder, "")) or "车牌" in text


def test_ordinary_numbers_and_punctuation_are_kept() -> None:
    text = "我今年76岁，住3号楼502室，2024年3月交了1200元，孩子8岁。"
    assert redact(text) == text


def test_several_kinds_in_one_request() -> None:
    out = redact("张三 13812345678 身份证110101199003074518 车京A88888")
    assert out == "张三 [手机号] 身份证[身份证号] 车[车牌号]"
