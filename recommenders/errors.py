"""Exceptions of the recommenders package."""

from __future__ import annotations


class NotFittedError(ValueError, AttributeError):
    """A recommender was used before ``fit`` (same bases as scikit-learn's NotFittedError)."""

    def __init__(self, model: str) -> None:
        super().__init__(f"{model} is not fitted yet: call fit(dataset, cutoff) first")


class ModelFileError(ValueError):
    """A saved model cannot be loaded (missing files, other model kind, incompatible version)."""


class NotEnoughHistoryError(ValueError):
    """The data is too short or too sparse for what was asked (e.g. no positive events to train a ranker on)."""
