"""Cross-validation inside the train part of the corpus, grouped by situation.

The shipped split holds out whole situations (``group``); tuning on the test part would spend it, so choices are
made with :func:`cross_validate`: the train part is cut into ``k`` folds of whole groups, a model is built on the
other folds and evaluated on each fold in turn, and the figures are pooled over every train request.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from understanding.evaluation import evaluate
from understanding.model import RequestModel
from understanding.scoring import Weights


def group_folds(corpus: pd.DataFrame, k: int, seed: int = 0) -> np.ndarray:
    """Fold number (0 … ``k``-1) of every row; rows of one ``group`` share a fold (rows without one: their own).

    Raises
    ------
    ValueError
        ``k`` below 2 or above the number of groups.
    """
    groups = corpus["group"].where(corpus["group"] != "", "row" + corpus.index.astype(str))
    unique = sorted(set(groups))
    if not 2 <= k <= len(unique):
        raise ValueError(f"cv folds must be between 2 and the number of groups ({len(unique)}), got {k}")
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[j]: i % k for i, j in enumerate(order)}
    return groups.map(fold_of).to_numpy()


def cross_validate(services: pd.DataFrame, corpus: pd.DataFrame, k: int = 5, *, seed: int = 0,
                   lexicon_paths: Sequence[Path] = (), weights: Weights | None = None,
                   learn_from: Collection[str] | None = None) -> dict[str, Any]:
    """Grouped ``k``-fold figures over ``corpus`` (the train part): each row is scored by a model not built on it.

    Parameters
    ----------
    learn_from : collection of str, optional
        Only the other folds' rows of these corpus files (``source``) train the models; every row is still
        scored. ``None``: all of them. For measuring what a corpus file adds on the same folds.

    Returns
    -------
    dict
        ``folds`` and the pooled ``category_accuracy``, ``service_recall_at_3``, ``service_mrr``,
        ``complaint_accuracy``, ``by_register``, ``by_source`` and ``by_category`` (request-weighted means over
        the folds).
    """
    folds = group_folds(corpus, k, seed)
    learnable = np.ones(len(corpus), dtype=bool) if learn_from is None else corpus["source"].isin(learn_from).to_numpy()
    reports = []
    for fold in range(k):
        model = RequestModel.build(services, lexicon_paths=lexicon_paths,
                                   corpus=corpus[(folds != fold) & learnable], seed=seed, weights=weights)
        reports.append(evaluate(model, corpus[folds == fold].reset_index(drop=True), worst=0))
    return {"folds": k, **_pool(reports)}


def _pool(reports: list[dict[str, Any]], *, overall: bool = True) -> dict[str, Any]:
    n = np.array([r["requests"] for r in reports], dtype=float)
    s = np.array([r["service_requests"] for r in reports], dtype=float)

    def mean(key: str, w: np.ndarray) -> float:
        return round(float(np.dot([r[key] or 0.0 for r in reports], w) / w.sum()), 4)

    def nested(key: str) -> dict[str, float]:
        names = sorted({name for r in reports for name in r[key]})
        out = {}
        for name in names:
            values = [(r[key][name], r["requests"]) for r in reports if name in r[key]]
            values = [(v["category_accuracy"] if isinstance(v, dict) else v, w) for v, w in values]
            out[name] = round(sum(v * w for v, w in values) / sum(w for _, w in values), 4)
        return out

    sources = sorted({name for r in reports for name in r.get("by_source", {})})
    by_source = {name: _pool([r["by_source"][name] for r in reports
                              if name in r["by_source"]], overall=False) for name in sources}
    pooled = {"requests": int(n.sum()), "category_accuracy": mean("category_accuracy", n),
              "service_recall_at_3": mean("service_recall_at_3", s), "service_mrr": mean("service_mrr", s)}
    if not overall:
        return pooled
    return {**pooled, "complaint_accuracy": mean("complaint_accuracy", n), "by_register": nested("by_register"),
            "by_source": by_source, "by_category": nested("by_category")}
