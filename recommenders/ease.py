"""EASE: embarrassingly shallow autoencoder (Steck 2019), a closed-form linear service-to-service model.

With ``X`` the resident × service matrix and ``G = XᵀX``, ``P = (G + λI)⁻¹`` and
``B = I − P · diag(1 / diag(P))``, i.e. ``B_ij = −P_ij / P_jj`` off the diagonal and ``diag(B) = 0``.
A resident's scores are ``x · B + self_weight · x``. EASE's zero diagonal forbids a service from predicting
itself, so repeat use (residents keep using the same community services) is scored only through
``self_weight``: 0 is Steck's EASE, the default 1.0 was chosen on a validation window. The catalogue is
small, so the services × services inverse is cheap.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from pydantic import Field

from features.dataset import Dataset
from recommenders.base import Recommender, RecommenderConfig


class EASEConfig(RecommenderConfig):
    """Configuration of :class:`EASERecommender`.

    Attributes
    ----------
    regularization : float
        λ, the ridge penalty added to the diagonal of ``XᵀX`` (absolute: grows with the number of residents
        a model is trained on).
    binary : bool
        Learn from "interacted positively" (1/0) instead of summed event weights.
    self_weight : float
        Weight of a resident's own input row in the score (0: pure EASE; with ``exclude_seen`` it makes
        no difference).
    """

    regularization: float = Field(200.0, gt=0.0)
    binary: bool = True
    self_weight: float = Field(1.0, ge=0.0)


class EASERecommender(Recommender):
    """Closed-form linear autoencoder over services.

    Learned state: ``weights_`` (services × services, float64, zero diagonal).
    """

    name = "ease"
    config_class = EASEConfig
    config: EASEConfig

    def _fit(self, dataset: Dataset) -> None:
        self.weights_: np.ndarray = ease_weights(self._inputs(np.arange(self.history_.shape[0])),
                                                 self.config.regularization)

    def _inputs(self, residents: np.ndarray) -> sp.csr_matrix:
        rows = self.history_[residents]
        if self.config.binary:
            rows = rows.copy()
            rows.data = np.ones_like(rows.data)
        return rows

    def _score(self, residents: np.ndarray) -> np.ndarray:
        inputs = self._inputs(residents)
        scores = np.asarray(inputs @ self.weights_, dtype=np.float64)
        if self.config.self_weight > 0:
            scores += self.config.self_weight * inputs.toarray()
        return scores


def ease_weights(matrix: sp.spmatrix | np.ndarray, regularization: float) -> np.ndarray:
    """EASE's ``B`` for a resident × service (sparse or dense) matrix and λ = ``regularization``.

    Returns
    -------
    numpy.ndarray
        (services × services) float64 with a zero diagonal.
    """
    product = matrix.T @ matrix
    gram = np.asarray(product.toarray() if sp.issparse(product) else product, dtype=np.float64)
    gram[np.diag_indices_from(gram)] += regularization
    precision = scipy.linalg.inv(gram, check_finite=False)  # G + λI is symmetric positive definite
    weights = -precision / np.diag(precision)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights
