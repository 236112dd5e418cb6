"""Candidate recommenders: one contract (:class:`Recommender`), six generators, a registry by name."""

from recommenders.als import ALSConfig, ALSRecommender
from recommenders.base import RANK, SCORE, Recommender, RecommenderConfig, top_k_frame
from recommenders.bpr import BPRConfig, BPRRecommender
from recommenders.ease import EASEConfig, EASERecommender, ease_weights
from recommenders.errors import ModelFileError, NotFittedError
from recommenders.interactions import EventWeights, event_weights, interaction_matrix, recency_decay
from recommenders.item_knn import ItemKNNConfig, ItemKNNRecommender
from recommenders.persona_popular import PersonaPopularConfig, PersonaPopularRecommender
from recommenders.popular import PopularConfig, PopularRecommender, service_popularity
from recommenders.registry import (
    RECOMMENDERS,
    UnknownRecommenderError,
    make_recommender,
    recommender_class,
    recommender_from_params,
)

__all__ = [
    "RANK",
    "RECOMMENDERS",
    "SCORE",
    "ALSConfig",
    "ALSRecommender",
    "BPRConfig",
    "BPRRecommender",
    "EASEConfig",
    "EASERecommender",
    "EventWeights",
    "ItemKNNConfig",
    "ItemKNNRecommender",
    "ModelFileError",
    "NotFittedError",
    "PersonaPopularConfig",
    "PersonaPopularRecommender",
    "PopularConfig",
    "PopularRecommender",
    "Recommender",
    "RecommenderConfig",
    "UnknownRecommenderError",
    "ease_weights",
    "event_weights",
    "interaction_matrix",
    "make_recommender",
    "recency_decay",
    "recommender_class",
    "recommender_from_params",
    "service_popularity",
    "top_k_frame",
]
