"""How a synthetic resident reacts to a service shown to them — one model shared by the generator and the simulator.

An engagement picks one service by softmax over the resident's true scores (they go for what they like, with
some randomness). An online engagement runs the funnel impression → view → click → book → use → rate. Every step but the
click converts at a fixed rate; the click converts with ``sigmoid(0.9 · (true score − 1.5))``, so residents
click what they truly like. A used service is rated sometimes, the rating rising with the true score.
:mod:`features.sources.synthetic.behaviour` draws the history with these numbers and
``experiments.simulated_residents`` draws reactions to served lists with them.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: Temperature of the softmax by which a resident picks the service of an engagement (see :func:`intent_probabilities`).
CHOICE_TEMPERATURE: Final = 0.7
#: Online funnel before ``use``: (event, probability of reaching it from the step before — ``None`` for the
#: click, see :func:`click_probability` —, seconds after the step before).
FUNNEL: Final = (("impression", 1.0, 0), ("view", 0.85, 40), ("click", None, 90), ("book", 0.6, 300))
#: Probability that a booked (online) service is then used.
USE_AFTER_BOOK: Final = 0.85
#: Probability that a used service is rated, online and offline.
RATE_ONLINE: Final = 0.4
RATE_OFFLINE: Final = 0.3


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def intent_probabilities(true: np.ndarray) -> np.ndarray:
    """Probability of each service being the one a resident engages with: softmax(true score / temperature).

    Parameters
    ----------
    true : ndarray of float
        One resident's true scores of every service (last axis); NaN or −inf (not eligible) give 0.
    """
    scores = np.nan_to_num(np.asarray(true, dtype=np.float64), nan=-np.inf) / CHOICE_TEMPERATURE
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=-1, keepdims=True)


def click_probability(true: np.ndarray) -> np.ndarray:
    """Probability that a resident who viewed a service clicks it, given their true score for it.

    Parameters
    ----------
    true : ndarray of float
        True preference scores; NaN or −inf (not eligible) give 0.
    """
    scores = np.nan_to_num(np.asarray(true), nan=-np.inf)  # keeps the dtype: the generator's draws stay bit-identical
    return _sigmoid(0.9 * (scores - 1.5))


def step_probability(event: str, true: np.ndarray) -> np.ndarray:
    """Probability of reaching funnel step ``event`` from the step before it (see :data:`FUNNEL`)."""
    for name, fixed, _seconds in FUNNEL:
        if name == event:
            return click_probability(true) if fixed is None else np.full(len(true), fixed)
    raise ValueError(f"event must be one of {[name for name, _, _ in FUNNEL]}, got {event!r}")


#: Standard deviation of the noise added to a rating (see :func:`star_ratings`).
RATING_NOISE: Final = 0.7


def star_ratings(true: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Star ratings 1–5 given true scores and ``noise`` drawn from ``normal(0, RATING_NOISE)``."""
    return np.clip(np.rint(3.4 + 0.9 * (np.asarray(true) - 2.2) + noise), 1, 5)


__all__ = ["CHOICE_TEMPERATURE", "FUNNEL", "RATE_OFFLINE", "RATE_ONLINE", "RATING_NOISE", "USE_AFTER_BOOK",
           "click_probability", "intent_probabilities", "star_ratings", "step_probability"]
