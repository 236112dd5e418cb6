"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through ``implicit.cpu``, as a Linli recommender.

Confidence of a resident × service pair is ``1 + alpha × w`` where ``w`` is the summed event weight
(:class:`~recommenders.interactions.EventWeights`: a ``use`` counts more than a ``view``, a 1-star rating
counts against the service). ``implicit`` does not scale the regularisation by the number of
interactions, so ``regularization`` is an absolute ridge penalty: tune it with ``alpha``.
Residents without history get (near-)zero factors and so (near-)tied scores.
"""

from __future__ import annotations

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from pydantic import Field
from threadpoolctl import threadpool_limits

from features.dataset import Dataset
from recommenders.base import Recommender, RecommenderConfig


class ALSConfig(RecommenderConfig):
    """Configuration of :class:`ALSRecommender`.

    Attributes
    ----------
    factors : int
        Latent dimensions (the catalogue is small: a few dozen are plenty).
    regularization : float
        Ridge penalty on the factors (absolute, not scaled by counts).
    alpha : float
        Confidence scaling: confidence = 1 + alpha × summed event weight.
    iterations : int
        ALS sweeps.
    random_state : int
        Seed of the factor initialisation.
    num_threads : int
        Threads of ``implicit`` (1 or 2 on the production machine).
    """

    factors: int = Field(32, ge=1)
    regularization: float = Field(100.0, ge=0.0)
    alpha: float = Field(2.0, gt=0.0)
    iterations: int = Field(15, ge=1)
    random_state: int = 0
    num_threads: int = Field(1, ge=1)


class ALSRecommender(Recommender):
    """Weighted matrix factorisation by alternating least squares.

    Learned state: ``resident_factors_`` (residents × factors) and ``service_factors_``
    (services × factors), float32; the score is their dot product.

    Examples
    --------
    >>> model = ALSRecommender(factors=32, regularization=100.0).fit(dataset, "2026-10-04")  # doctest: +SKIP
    """

    name = "als"
    config_class = ALSConfig
    config: ALSConfig

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        confidence = self.history_.astype(np.float32, copy=True)
        confidence.data = 1.0 + cfg.alpha * confidence.data
        model = AlternatingLeastSquares(factors=cfg.factors, regularization=cfg.regularization, alpha=1.0,
                                        iterations=cfg.iterations, random_state=cfg.random_state,
                                        num_threads=cfg.num_threads, calculate_training_loss=False)
        with threadpool_limits(limits=1, user_api="blas"):
            model.fit(confidence, show_progress=False)
        self.resident_factors_: np.ndarray = np.asarray(model.user_factors)
        self.service_factors_: np.ndarray = np.asarray(model.item_factors)

    def _score(self, residents: np.ndarray) -> np.ndarray:
        return self.resident_factors_[residents].astype(np.float64) @ self.service_factors_.T.astype(np.float64)
