"""The published MovieLens benchmark protocol (Microsoft Recommenders' ``examples/06_benchmarks/movielens``).

1. **Split**: 75 / 25, stratified by item (service): each movie's ratings are shuffled with the seed and the
   first ``round(0.75 · n)`` go to train (:func:`training.splits.stratified_split`, which reproduces
   ``python_stratified_split(ratio=0.75, min_rating=1, filter_by="item")`` row for row, given the ratings in
   file order: :func:`file_order`). Published figures use seed 42.
2. **Recommend** the top 10 services per resident of the test set, after removing every service the resident
   rated in train (whatever the rating).
3. **Judge** with binary relevance (every test rating is a hit, whatever its stars), averaged over the
   residents that are both in the test set and given a list (Recommenders' convention): nDCG@10,
   Precision@10, Recall@10 and MAP (average precision of the top 10 divided by all of the resident's test
   ratings: Recommenders' ``map``).

Tuning never looks at the test split: :func:`validation_split` carves a validation slice out of train the
same stratified way (75 / 25 of train, same seed), models are tuned on it, then refitted on all of train.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.columns import Columns as C
from features.dataset import Dataset
from features.sources.movielens import SOURCE_ROW
from recommenders import label_strategies
from recommenders.base import top_k_frame
from training.metrics import per_resident_metrics
from training.relevance import RELEVANCE
from training.splits import stratified_split

#: Published nDCG@10 on this protocol (Recommenders' MovieLens-100K benchmark table, seed 42).
PUBLISHED_NDCG: Final = {"BiVAE": 0.4751, "BPR (Cornac)": 0.4420, "LightGCN": 0.4198, "NCF": 0.3961,
                         "SAR": 0.3825}
METRICS: Final = ("ndcg@10", "precision@10", "recall@10", "map")


@dataclass(frozen=True)
class Protocol:
    """Parameters of the protocol; the defaults are the published ones.

    Attributes
    ----------
    ratio : float
        Share of each service's ratings that go to train.
    min_rating : int
        Services with fewer ratings are dropped before splitting (1 keeps all).
    filter_by : str
        Stratify per ``"item"`` (service) or ``"user"`` (resident).
    k : int
        List length and metric cut-off.
    variant : {"current", "legacy"}
        Splitter implementation reproduced (see :func:`training.splits.stratified_split`).
    """

    ratio: float = 0.75
    min_rating: int = 1
    filter_by: str = "item"
    k: int = 10
    variant: str = "current"

    def describe(self) -> dict[str, Any]:
        """The protocol as JSON-ready text and numbers (the ``protocol`` block of the benchmark output)."""
        return {
            "source": "Microsoft Recommenders examples/06_benchmarks/movielens.ipynb",
            "split": f"python_stratified_split(ratio={self.ratio}, min_rating={self.min_rating}, "
                     f"filter_by={self.filter_by!r}), splitter variant {self.variant!r}",
            "validation": f"the same stratified split of train (ratio {self.ratio}, same seed); test never tunes",
            "top_k": self.k, "remove_seen": True, "relevance": "binary (every test rating)",
            "metrics": [m.replace("10", str(self.k)) for m in METRICS],
            "map": "average precision of the top k over all test ratings of the resident (Recommenders' map)",
            "residents": "those in the test set with a list (Recommenders' convention)",
        }


def file_order(interactions: pd.DataFrame) -> pd.DataFrame:
    """Interactions in the order of their source file (the published split depends on it) when known."""
    if SOURCE_ROW in interactions.columns:
        return interactions.sort_values(SOURCE_ROW, kind="stable")
    return interactions


def with_interactions(dataset: Dataset, interactions: pd.DataFrame) -> Dataset:
    """``dataset`` holding only ``interactions`` (a row subset), with the same residents, services and id maps."""
    return label_strategies.with_interactions(dataset, interactions)


def split(dataset: Dataset, seed: int, protocol: Protocol = Protocol()) -> tuple[Dataset, pd.DataFrame]:
    """Train dataset and test interactions of the protocol's stratified split with ``seed``."""
    train, test = stratified_split(file_order(dataset.interactions), protocol.ratio, seed, protocol.min_rating,
                                   protocol.filter_by, variant=protocol.variant)  # type: ignore[arg-type]
    if test.empty:
        raise ValueError("the split left no test ratings; the data set is too small for this protocol")
    return with_interactions(dataset, train), test


def validation_split(train: Dataset, seed: int, protocol: Protocol = Protocol()) -> tuple[Dataset, pd.DataFrame]:
    """Inner-train dataset and validation interactions, carved out of ``train`` the same stratified way."""
    return split(train, seed, protocol)


def stratified_folds(train: Dataset, n_folds: int, seed: int,
                     protocol: Protocol = Protocol()) -> list[tuple[Dataset, pd.DataFrame]]:
    """``n_folds`` disjoint held-out slices of ``train``, stratified like the split: ``(rest, slice)`` pairs.

    The folds of the hybrid's :class:`~recommenders.label_strategies.StratifiedFoldLabels` (see
    :func:`recommenders.label_strategies.stratified_folds`): every training rating is held out exactly once.
    """
    if protocol.filter_by in ("item", "service"):
        return label_strategies.stratified_folds(train, n_folds, seed, "service")
    return label_strategies.stratified_folds(train, n_folds, seed, "resident")


def truth(test: pd.DataFrame) -> pd.DataFrame:
    """Binary relevance frame of the test (or validation) interactions: every rated pair is relevant."""
    pairs = test[[C.RESIDENT, C.SERVICE]].drop_duplicates().reset_index(drop=True)
    return pairs.assign(**{RELEVANCE: 1.0})


def seen_matrix(train: Dataset) -> sp.csr_matrix:
    """(residents × services) boolean matrix of every pair in ``train`` (any rating), in id-map order."""
    rows = train.resident_ids.to_internal(train.interactions[C.RESIDENT])
    cols = train.service_ids.to_internal(train.interactions[C.SERVICE])
    ones = np.ones(len(rows), dtype=bool)
    return sp.csr_matrix((ones, (rows, cols)), shape=(len(train.resident_ids), len(train.service_ids)))


def residents_to_rank(train: Dataset, test: pd.DataFrame) -> np.ndarray:
    """Internal ids (sorted) of the residents that have test ratings."""
    return np.sort(train.resident_ids.to_internal(pd.unique(test[C.RESIDENT])))


def unseen_top_k(train: Dataset, residents: np.ndarray, scores: np.ndarray, k: int = 10,
                 seen: sp.csr_matrix | None = None) -> pd.DataFrame:
    """Top-``k`` table (``resident_id, service_id, score, rank``) of ``scores`` after removing train pairs.

    Parameters
    ----------
    train : Dataset
    residents : ndarray of int
        Internal ids of the rows of ``scores``.
    scores : ndarray (len(residents), n_services)
        Higher is better; −inf is never recommended.
    seen : scipy.sparse matrix, optional
        :func:`seen_matrix` of ``train`` (computed when not given).
    """
    seen = seen_matrix(train) if seen is None else seen
    masked = np.array(scores, dtype=np.float64, copy=True)
    rows, cols = seen[residents].nonzero()
    masked[rows, cols] = -np.inf
    return top_k_frame(train.resident_ids.to_external(residents), masked, train.service_ids, k)


def evaluate(recommendations: pd.DataFrame, test: pd.DataFrame, k: int = 10) -> dict[str, float]:
    """``ndcg@k, precision@k, recall@k, map`` of a top-k table against test interactions (binary relevance)."""
    relevant = truth(test)
    scores = per_resident_metrics(recommendations, relevant, k, residents="common")
    return {f"ndcg@{k}": float(scores["ndcg"].mean()), f"precision@{k}": float(scores["precision"].mean()),
            f"recall@{k}": float(scores["recall"].mean()),
            "map": float(scores["ap_relevant"].mean())}


__all__ = ["METRICS", "PUBLISHED_NDCG", "Protocol", "evaluate", "file_order", "residents_to_rank", "seen_matrix",
           "split", "stratified_folds", "truth", "unseen_top_k", "validation_split", "with_interactions"]
