"""Word segmentation with jieba, taught the lexicon's terms and the catalogue's service names.

jieba ships its own dictionary, so nothing is downloaded. Each :class:`Segmenter` owns a private
``jieba.Tokenizer`` (jieba's module-level tokenizer is shared by the whole process) and adds the service words to
it, so 居住证办理 or 腿脚不便 come out as one word. :meth:`Segmenter.tokens` adds character bigrams of the Chinese
runs, which keep a word recognisable when a typo splits it differently.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Final

import jieba

jieba.setLogLevel(logging.WARNING)

_STOP_TEXT = (
    "的 了 吗 呢 吧 啊 呀 哦 嗯 我 你 他 她 它 我们 你们 他们 是 在 有 和 就 都 也 还 要 想 能 可以 请问 请 问 一下 "
    "一个 这个 那个 怎么 怎么办 什么 哪里 哪儿 去 给 让 把 被 对 没 不 很 太 好 多 吧 么 嘛 个 这 那 啥 咋 谁 "
    "帮 帮忙 谢谢 麻烦 您 上 下 里 到 说 会 现在 已经 社区 小区 有没有 能不能 附近 哪个 哪些 时候 来 "
    "没有 需要 服务 办 因为 because the a an to of and i my is for please help"
)
#: Words too common in requests to tell services apart.
STOPWORDS: Final = frozenset(_STOP_TEXT.split())
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)


class Segmenter:
    """jieba word segmentation extended with domain words.

    Parameters
    ----------
    words : iterable of str
        Domain words to keep whole (lexicon terms, service names); normalised already.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        for word in sorted(set(words)):
            if len(word) >= 2 and " " not in word:
                self._tokenizer.add_word(word, freq=2000)

    def words(self, text: str) -> list[str]:
        """jieba words of normalised ``text``: no punctuation, spaces, stop words or single Chinese characters
        (those are in the bigrams of :meth:`tokens`, and alone they match too much)."""
        return [w for w in self._tokenizer.lcut(text)
                if _WORD.search(w) and w not in STOPWORDS and not (len(w) == 1 and _HAN_RUN.match(w))]

    def tokens(self, text: str) -> list[str]:
        """:meth:`words` plus the character bigrams of every Chinese run (for BM25 and the classifier)."""
        out = self.words(text)
        for run in _HAN_RUN.findall(text):
            out.extend(b for i in range(len(run) - 1) if (b := run[i:i + 2]) not in STOPWORDS)
        return out
