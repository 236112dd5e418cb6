"""BM25 retrieval over the catalogue's own text: service names (Chinese and English) and descriptions.

This is what makes a service matchable the day it is added to the catalogue, before any lexicon entry or
labelled request mentions it. Scoring is ``bm25s`` (sparse-matrix BM25) over the :class:`Segmenter`'s tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np
import pandas as pd

from features.columns import Columns as C
from understanding.segment import Segmenter
from understanding.text import normalise

#: The services column holding free-text descriptions (optional in the services contract).
DESCRIPTION = "description"


def service_text(row: pd.Series) -> str:
    """The text a service is found by: its Chinese name twice (names weigh most), English name, description."""
    parts = [row.get(C.NAME_ZH), row.get(C.NAME_ZH), row.get(C.NAME_EN), row.get(DESCRIPTION)]
    return normalise(" ".join(str(p) for p in parts if isinstance(p, str) and p.strip()))


class ServiceIndex:
    """BM25 over one catalogue.

    Parameters
    ----------
    services : pandas.DataFrame
        The services table (``service_id``, ``name_zh``, optional ``name_en`` and ``description``).
    segmenter : Segmenter
        Tokenizes documents and queries alike.
    """

    def __init__(self, services: pd.DataFrame, segmenter: Segmenter) -> None:
        self._segmenter = segmenter
        self.service_ids: list[str] = services[C.SERVICE].astype(str).tolist()
        docs = [segmenter.tokens(service_text(row)) for _, row in services.iterrows()]
        self._vocab = [set(d) for d in docs]
        self._bm25 = bm25s.BM25()
        self._bm25.index(docs, show_progress=False)
        vocab = sorted(set().union(*self._vocab))
        self._best = {t: float(np.max(self._bm25.get_scores([t]))) for t in vocab}

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every service (catalogue order) for query ``tokens``, scaled so the best is at most 1.

        The scale divides by the score the query would get against itself were it a document (the sum of its
        tokens' best per-document scores), so a strong match is near 1 whatever the query's length.
        """
        if not tokens:
            return np.zeros(len(self.service_ids))
        raw = np.asarray(self._bm25.get_scores(list(tokens)), dtype=float)
        ceiling = sum(self._best.get(t, 0.0) for t in tokens)
        return raw / ceiling if ceiling > 0 else raw

    def matched(self, position: int, words: Sequence[str]) -> list[str]:
        """The query ``words`` that occur in the service at ``position`` (for the answer's ``matched``)."""
        vocab = self._vocab[position]
        return [w for w in dict.fromkeys(words) if w in vocab]
