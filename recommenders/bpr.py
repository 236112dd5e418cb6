"""Bayesian personalised ranking (Rendle et al. 2009) through ``implicit.cpu``, as a Linli recommender.

BPR learns from which pairs are positive, not how strongly: a resident × service pair is positive when
its summed event weight (:class:`~recommenders.interactions.EventWeights`) reaches ``min_weight``
(default: at least a click). Training is SGD over sampled (positive, negative) pairs, seeded by
``random_state``; with one thread it is deterministic.
"""

from __future__ import annotations

import numpy as np
from implicit.cpu.bpr import BayesianPersonalizedRanking
from pydantic import Field
from threadpoolctl import threadpool_limits

from features.dataset import Dataset
from recommenders.base import Recommender, RecommenderConfig


class BPRConfig(RecommenderConfig):
    """Configuration of :class:`BPRRecommender`.

    Attributes
    ----------
    factors : int
        Latent dimensions (``implicit`` adds one service-bias dimension).
    learning_rate : float
        SGD step.
    regularization : float
        L2 penalty per update.
    iterations : int
        Epochs (each samples as many pairs as there are positive entries).
    min_weight : float
        Summed event weight from which a pair counts as positive.
    random_state : int
        Seed of initialisation and sampling.
    num_threads : int
        Threads of ``implicit``; more than one is faster but not bit-for-bit reproducible.
    """

    factors: int = Field(32, ge=1)
    learning_rate: float = Field(0.05, gt=0.0)
    regularization: float = Field(0.01, ge=0.0)
    iterations: int = Field(100, ge=1)
    min_weight: float = Field(1.0, gt=0.0)
    random_state: int = 0
    num_threads: int = Field(1, ge=1)


class BPRRecommender(Recommender):
    """Pairwise-ranking matrix factorisation.

    Learned state: ``resident_factors_`` and ``service_factors_`` (float32, the last column carries
    the service bias); the score is their dot product.
    """

    name = "bpr"
    config_class = BPRConfig
    config: BPRConfig

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        positives = (self.history_ >= cfg.min_weight).astype(np.float32)
        positives.eliminate_zeros()
        model = BayesianPersonalizedRanking(factors=cfg.factors, learning_rate=cfg.learning_rate,
                                            regularization=cfg.regularization, iterations=cfg.iterations,
                                            random_state=cfg.random_state, num_threads=cfg.num_threads,
                                            verify_negative_samples=True)
        with threadpool_limits(limits=1, user_api="blas"):
            model.fit(positives.tocsr(), show_progress=False)
        self.resident_factors_: np.ndarray = np.asarray(model.user_factors)
        self.service_factors_: np.ndarray = np.asarray(model.item_factors)

    def _score(self, residents: np.ndarray) -> np.ndarray:
        return self.resident_factors_[residents].astype(np.float64) @ self.service_factors_.T.astype(np.float64)
