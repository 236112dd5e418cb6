"""Linear text classifiers over character n-grams, pinyin n-grams and jieba words.

:class:`Featurizer` turns a request into three TF-IDF blocks: character 1–3-grams of the simplified text (typos
keep most of their n-grams), character 2–4-grams of its pinyin key (homophones and pinyin input land on the
intended word's letters) and jieba words with their bigrams. It is fitted once on the corpus and shared by every
:class:`TextClassifier` (categories, services, complaint kinds), so a request is featurized once per call.
Probabilities are computed with numpy from the learned weights: one sparse product and a softmax.
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


class Featurizer:
    """TF-IDF over the three views, fitted on a corpus."""

    def fit(self, views: Views) -> Featurizer:
        """Learn the vocabularies and IDF weights; returns ``self``."""
        self.vectorizers_ = (
            TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32),
            TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True, dtype=np.float32),
            TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True,
                            dtype=np.float32),
        )
        for vectorizer, column in zip(self.vectorizers_, _columns(views), strict=True):
            vectorizer.fit(column)

        self._analyzers = [v.build_analyzer() for v in self.vectorizers_]
        self._idf = [np.asarray(v.idf_, dtype=np.float32) for v in self.vectorizers_]
        self._offsets = np.cumsum([0] + [len(v.vocabulary_) for v in self.vectorizers_]).tolist()
        return self

    def transform(self, views: Views) -> sp.csr_matrix:
        """The features of ``views``, one row per text (sklearn's TF-IDF, without its per-call overhead)."""
        rows = []
        for texts in zip(*_columns(views), strict=True):
            indices: list[int] = []
            values: list[float] = []
            for i, text in enumerate(texts):
                counts: dict[int, int] = {}
                vocabulary = self.vectorizers_[i].vocabulary_
                for gram in self._analyzers[i](text):
                    j = vocabulary.get(gram)
                    if j is not None:
                        counts[j] = counts.get(j, 0) + 1
                if not counts:
                    continue
                cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
                tf = 1 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
                weights = tf * self._idf[i][cols]
                weights /= np.linalg.norm(weights)
                indices.extend((cols + self._offsets[i]).tolist())
                values.extend(weights.tolist())
            rows.append((indices, values))
        indptr = np.cumsum([0] + [len(r[0]) for r in rows])
        data = np.fromiter((v for r in rows for v in r[1]), dtype=np.float32, count=int(indptr[-1]))
        cols = np.fromiter((c for r in rows for c in r[0]), dtype=np.int64, count=int(indptr[-1]))
        return sp.csr_matrix((data, cols, indptr), shape=(len(rows), self._offsets[-1]))


class TextClassifier:
    """Multinomial logistic regression on :class:`Featurizer` features.

    Parameters
    ----------
    c : float
        Inverse regularisation strength.
    seed : int
        Random state of the solver.
    balanced : bool
        Weigh classes inversely to their frequency (for rare classes such as complaint kinds).
    """

    def __init__(self, c: float = 8.0, seed: int = 0, *, balanced: bool = False) -> None:
        self.c = c
        self.seed = seed
        self.balanced = balanced

    def fit(self, features: sp.csr_matrix, labels: Sequence[str]) -> TextClassifier:
        """Learn from ``features`` and their ``labels``; returns ``self``.

        Raises
        ------
        ValueError
            Fewer than two distinct labels, or not one label per row.
        """
        if len(labels) != features.shape[0]:
            raise ValueError(f"{len(labels)} labels for {features.shape[0]} texts")
        if len(set(labels)) < 2:
            raise ValueError("a classifier needs at least two distinct labels in the corpus")
        model = LogisticRegression(C=self.c, max_iter=500, tol=1e-3, random_state=self.seed,
                                   class_weight="balanced" if self.balanced else None)
        model.fit(features, np.asarray(labels))
        self.classes_: list[str] = [str(c) for c in model.classes_]
        coef = np.asarray(model.coef_, dtype=np.float32)
        intercept = np.asarray(model.intercept_, dtype=np.float32)
        if len(self.classes_) == 2:  # sklearn keeps one row for two classes: p(second) = sigmoid(row)
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        self.coef_, self.intercept_ = np.ascontiguousarray(coef.T), intercept
        return self

    def proba(self, features: sp.csr_matrix) -> np.ndarray:
        """Class probabilities, one row per text, columns in :attr:`classes_` order."""
        logits = np.asarray(features @ self.coef_) + self.intercept_
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)


def _columns(views: Views) -> tuple[list[str], list[str], list[str]]:
    return views.text, views.pinyin, views.words
