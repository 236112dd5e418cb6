"""A linear text classifier over character n-grams, pinyin n-grams and jieba words.

Three views of the same request, each a TF-IDF block: character 1–3-grams of the simplified text (typos keep most
of their n-grams), character 2–4-grams of its pinyin key (homophones and pinyin input land on the intended
word's letters) and jieba words with their bigrams. A multinomial logistic regression learns from the labelled
corpus; the same class serves categories, services and complaint kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Views:
    """The three views of a batch of texts: normalised text, pinyin key and space-joined tokens."""

    text: list[str]
    pinyin: list[str]
    words: list[str]


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer, TfidfVectorizer]:
    return (
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True),
    )


class TextClassifier:
    """Multinomial logistic regression over the three TF-IDF views.

    Parameters
    ----------
    c : float
        Inverse regularisation strength of the logistic regression.
    seed : int
        Random state of the solver.
    """

    def __init__(self, c: float = 8.0, seed: int = 0) -> None:
        self.c = c
        self.seed = seed

    def fit(self, views: Views, labels: Sequence[str]) -> TextClassifier:
        """Learn from ``views`` and their ``labels``; returns ``self``.

        Raises
        ------
        ValueError
            Fewer than two distinct labels, or as many labels as texts do not match.
        """
        if len(labels) != len(views.text):
            raise ValueError(f"{len(labels)} labels for {len(views.text)} texts")
        if len(set(labels)) < 2:
            raise ValueError("a classifier needs at least two distinct labels in the corpus")
        self.vectorizers_ = _vectorizers()
        blocks = [v.fit_transform(col) for v, col in zip(self.vectorizers_, _columns(views), strict=True)]
        self.model_ = LogisticRegression(C=self.c, max_iter=3000, random_state=self.seed)
        self.model_.fit(sp.hstack(blocks).tocsr(), np.asarray(labels))
        self.classes_: list[str] = [str(c) for c in self.model_.classes_]
        return self

    def proba(self, views: Views) -> np.ndarray:
        """Class probabilities, one row per text, columns in :attr:`classes_` order."""
        blocks = [v.transform(col) for v, col in zip(self.vectorizers_, _columns(views), strict=True)]
        return np.asarray(self.model_.predict_proba(sp.hstack(blocks).tocsr()))


def _columns(views: Views) -> tuple[list[str], list[str], list[str]]:
    return views.text, views.pinyin, views.words
