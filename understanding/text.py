"""Normalising a resident's text: one spelling for the many ways residents type the same words.

Full-width forms become half-width (NFKC), traditional and variant characters become simplified (居住証 and
居住證 both read 居住证), letters are lower-cased and runs of spaces collapse. :func:`pinyin_key` spells a text in
toneless pinyin without spaces, so homophone typos (居往证 / 据住证) and pinyin input (juzhuzheng) land on the same
key as the intended characters. :func:`check_text` is the one rule for what text a request may carry.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

import zhconv
from pypinyin import lazy_pinyin

#: Longest request text accepted, in characters (the API and the loaders share it).
MAX_TEXT_LENGTH: Final = 500

_SPACES = re.compile(r"\s+")
_NOT_PINYIN = re.compile(r"[^a-z0-9]+")
_HAN = re.compile(r"[\u3400-\u9fff]")


def check_text(text: object) -> str:
    """Return ``text`` stripped, or raise :class:`ValueError` saying why it cannot be a request.

    Parameters
    ----------
    text : object
        What the resident sent.

    Returns
    -------
    str
        The text without surrounding whitespace.

    Raises
    ------
    ValueError
        Not a string; empty or whitespace only; longer than :data:`MAX_TEXT_LENGTH` characters; or without a
        single letter, digit or Chinese character (emoji or punctuation only).
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("text is empty: write what you need, e.g. 「想给老人订午饭」")
    if len(stripped) > MAX_TEXT_LENGTH:
        raise ValueError(f"text has {len(stripped)} characters; at most {MAX_TEXT_LENGTH} are accepted")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in stripped):
        raise ValueError("text has no words (only emoji, symbols or punctuation): write what you need in words")
    return stripped


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Simplified, half-width, lower-case text with single spaces.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        The normalised text; its length may differ from the input's only by whitespace.
    """
    text = unicodedata.normalize("NFKC", text)
    if _HAN.search(text):
        text = zhconv.convert(text, "zh-cn")
    return _SPACES.sub(" ", text.lower()).strip()


@lru_cache(maxsize=8192)
def pinyin_key(text: str) -> str:
    """Toneless pinyin of ``text`` with Latin letters and digits kept and everything else dropped.

    Characters are spelled one at a time (each character's most common reading, cached), which is what makes a
    500-character request cheap; terms and requests are spelled the same way, so they still meet.

    Parameters
    ----------
    text : str
        Normalised text (see :func:`normalise`).

    Returns
    -------
    str
        E.g. ``"juzhuzheng"`` for 居住证, 据住证 and ``"ju zhu zheng"`` alike.
    """
    return _NOT_PINYIN.sub("", "".join(map(_spell, text)).lower())


@lru_cache(maxsize=16384)
def _spell(char: str) -> str:
    return lazy_pinyin(char)[0] if _HAN.match(char) else char


def has_han(text: str) -> bool:
    """Whether ``text`` holds at least one Chinese character."""
    return _HAN.search(text) is not None
