"""How strongly each event shows interest: one table, one named policy per use.

Two parts of Linli weigh events and, on purpose, weigh them differently:

``features``
    The feature pipeline (:class:`features.feature_registry.FeatureSet`) counts *exposure* as well as
    action: category shares, service popularity and pair strength are about what a resident has seen and
    done, so an impression weighs a little (0.1).
``interactions``
    The collaborative-filtering generators (:class:`recommenders.interactions.EventWeights`) learn only
    from what residents *did*: an impression that was not acted on says nothing about preference (it is
    at most a weak negative, left to the ranker), so it weighs 0 and never enters the resident × service
    matrix.

Every other event weighs the same in both policies. A feature set TOML (``[event_strength]``) or a
recommender config (``weights``) may still override single events; this table is only the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args

EventPolicy = Literal["features", "interactions"]
EVENT_POLICIES: Final[tuple[str, ...]] = get_args(EventPolicy)

#: Default weight of each event (keys in the order of :attr:`features.Vocab.EVENTS`) per policy.
EVENT_WEIGHTS: Final[Mapping[str, Mapping[str, float]]] = MappingProxyType({
    "features": MappingProxyType(
        {"impression": 0.1, "view": 0.5, "click": 1.0, "book": 2.0, "use": 3.0, "rate": 3.0}),
    "interactions": MappingProxyType(
        {"impression": 0.0, "view": 0.5, "click": 1.0, "book": 2.0, "use": 3.0, "rate": 3.0}),
})


#: The event a resident's own free-text request for a service (``POST /requests``) becomes in training data: asking
#: for it in words is at least as strong a sign of intent as clicking it, and weaker than booking it.
REQUEST_EVENT: Final = "click"


def policy_weights(policy: EventPolicy) -> dict[str, float]:
    """A fresh copy of one policy's event weights.

    Parameters
    ----------
    policy : {"features", "interactions"}
        ``features`` counts exposure (impressions weigh 0.1); ``interactions`` counts actions only
        (impressions weigh 0).

    Returns
    -------
    dict of str to float
        Event name → weight, one entry per event of :attr:`features.Vocab.EVENTS`.

    Raises
    ------
    ValueError
        If ``policy`` is not a known policy (the message lists the valid ones).
    """
    if policy not in EVENT_WEIGHTS:
        raise ValueError(f"unknown event-weight policy {policy!r}; choose from {list(EVENT_POLICIES)}")
    return dict(EVENT_WEIGHTS[policy])
