"""Item-item nearest neighbours: services used by the same residents are similar.

The resident × service matrix of summed event weights is optionally re-weighted (TF-IDF or BM25, which
damp very popular services and very active residents), services are compared by cosine similarity,
each service keeps its ``neighbours`` most similar services, and a resident's score for a service is
their history (summed event weights) times the pruned similarity, plus ``self_weight`` × their own history
of that service. A service is not its own neighbour, so ``self_weight = 0`` is the textbook method; the
default 1.0 scores repeat use too, because residents keep using the same community services (the evidence is
in ``docs/recommenders.md``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from features.dataset import Dataset
from recommenders.base import Recommender, RecommenderConfig


class ItemKNNConfig(RecommenderConfig):
    """Configuration of :class:`ItemKNNRecommender`.

    Attributes
    ----------
    neighbours : int
        Most similar services kept per service.
    weighting : {"none", "tfidf", "bm25"}
        Re-weighting of the resident × service matrix before the similarity.
    bm25_k1, bm25_b : float
        BM25 saturation and resident-length normalisation.
    shrinkage : float
        Added to the cosine denominator: damps similarities supported by few residents.
    self_weight : float
        Weight of a resident's own history of a service in its score (0: neighbours only, the textbook
        item-kNN; with ``exclude_seen`` it makes no difference).
    """

    neighbours: int = Field(20, ge=1)
    weighting: Literal["none", "tfidf", "bm25"] = "bm25"
    bm25_k1: float = Field(1.2, ge=0.0)
    bm25_b: float = Field(0.75, ge=0.0, le=1.0)
    shrinkage: float = Field(0.0, ge=0.0)
    self_weight: float = Field(1.0, ge=0.0)


class ItemKNNRecommender(Recommender):
    """Cosine item-item collaborative filtering.

    Learned state: ``similarity_`` (services × services, dense float64; column ``j`` holds the
    neighbours of service ``j``, at most ``neighbours`` non-zeros, zero diagonal).
    """

    name = "item_knn"
    config_class = ItemKNNConfig
    config: ItemKNNConfig

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        weighted = _reweight(self.history_, cfg)
        self.similarity_: np.ndarray = _top_neighbours(_cosine(weighted, cfg.shrinkage), cfg.neighbours)

    def _score(self, residents: np.ndarray) -> np.ndarray:
        history = self.history_[residents]
        scores = np.asarray(history @ self.similarity_, dtype=np.float64)
        if self.config.self_weight > 0:
            scores += self.config.self_weight * history.toarray()
        return scores


def _reweight(matrix: sp.csr_matrix, cfg: ItemKNNConfig) -> sp.csr_matrix:
    """TF-IDF or BM25 weights of a resident × service matrix (services are the "terms")."""
    if cfg.weighting == "none":
        return matrix
    coo = matrix.tocoo()
    n_residents = max(matrix.shape[0], 1)
    idf = np.log(n_residents) - np.log1p(np.bincount(coo.col, minlength=matrix.shape[1]))
    if cfg.weighting == "tfidf":
        data = np.sqrt(coo.data) * idf[coo.col]
    else:
        length = np.asarray(matrix.sum(axis=1)).ravel()
        mean_length = length[length > 0].mean() if (length > 0).any() else 1.0
        norm = (1.0 - cfg.bm25_b) + cfg.bm25_b * length / mean_length
        data = coo.data * (cfg.bm25_k1 + 1.0) / (cfg.bm25_k1 * norm[coo.row] + coo.data) * idf[coo.col]
    return sp.csr_matrix((data, (coo.row, coo.col)), shape=matrix.shape)


def _cosine(matrix: sp.csr_matrix, shrinkage: float) -> np.ndarray:
    """Dense service × service cosine similarity with a zero diagonal."""
    gram = np.asarray((matrix.T @ matrix).toarray(), dtype=np.float64)
    norms = np.sqrt(np.diag(gram))
    denominator = np.outer(norms, norms) + shrinkage
    similarity = np.divide(gram, denominator, out=np.zeros_like(gram), where=denominator > 0)
    np.fill_diagonal(similarity, 0.0)
    return similarity


def _top_neighbours(similarity: np.ndarray, neighbours: int) -> np.ndarray:
    """Keep the ``neighbours`` largest entries of every column (ties broken by service order)."""
    m = similarity.shape[0]
    if neighbours >= m - 1:
        return similarity
    order = np.argsort(-similarity, axis=0, kind="stable")
    pruned = np.zeros_like(similarity)
    keep = order[:neighbours]
    columns = np.broadcast_to(np.arange(m), keep.shape)
    pruned[keep, columns] = similarity[keep, columns]
    return pruned
