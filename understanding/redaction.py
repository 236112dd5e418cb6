"""Personal data out of request text before it is stored, logged or shown: phones, ID cards, bank cards, plates.

Each kind is replaced by a bracketed placeholder (``[手机号]``...), so a planner still sees that the resident gave a
phone number without seeing it. Full-width digits and letters are read as half-width, so they are caught too,
and the longest kinds go first (an 18-digit ID number is not read as a phone number plus digits).
"""

from __future__ import annotations

import re
from typing import Final

# Digits may be split by spaces or dashes as people type them (138 1234 5678, 6222-0212-3456-7890).
_SEP = r"[ \-]?"
_NOT_DIGIT_BEFORE, _NOT_DIGIT_AFTER = r"(?<![0-9])", r"(?![0-9])"

#: Full-width digits and Latin letters to half-width (punctuation stays as written).
_HALF_WIDTH: Final = {c: c - 0xFEE0 for c in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"

#: (placeholder, pattern) in the order they are applied.
PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("[身份证号]", re.compile(
        _NOT_DIGIT_BEFORE + r"[1-9][0-9]{5}" + _SEP + r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
        + _SEP + r"[0-9]{3}[0-9xX]" + r"(?![0-9a-zA-Z])")),
    ("[银行卡号]", re.compile(_NOT_DIGIT_BEFORE + r"[3-9][0-9]{3}(?:" + _SEP + r"[0-9]{4}){2,3}(?:" + _SEP
                              + r"[0-9]{1,3})?" + _NOT_DIGIT_AFTER)),
    ("[身份证号]", re.compile(_NOT_DIGIT_BEFORE + r"[1-9][0-9]{14}" + _NOT_DIGIT_AFTER)),  # old 15-digit cards
    ("[手机号]", re.compile(_NOT_DIGIT_BEFORE + r"(?:\+?86" + _SEP + r")?1[3-9][0-9](?:" + _SEP + r"[0-9]{4}){2}"
                            + _NOT_DIGIT_AFTER)),
    ("[电话]", re.compile(_NOT_DIGIT_BEFORE + r"0[1-9][0-9]{1,2}" + _SEP + r"[2-9][0-9]{6,7}" + _NOT_DIGIT_AFTER)),
    ("[车牌号]", re.compile(r"[" + _PROVINCES + r"]\s?[A-Za-z][\s·.]?[A-HJ-NP-Za-hj-np-z0-9]{5,6}(?![A-Za-z0-9])")),
)


def redact(text: str) -> str:
    """``text`` with phone numbers, ID-card numbers, bank-card numbers and plate numbers replaced.

    Parameters
    ----------
    text : str
        What the resident wrote.

    Returns
    -------
    str
        The text with each piece of personal data replaced by its placeholder; everything else is unchanged
        except that full-width digits and Latin letters become half-width.

    Examples
    --------
    >>> redact("我电话13812345678，车牌沪A12345")
    '我电话[手机号]，车牌[车牌号]'
    """
    text = text.translate(_HALF_WIDTH)
    for placeholder, pattern in PATTERNS:
        text = pattern.sub(placeholder, text)
    return text
