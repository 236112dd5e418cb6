"""Residents' free-text requests as training data: asking for a service in words is a strong sign of intent.

Each stored request of a named resident that was offered a service becomes one interaction: the resident, the
service offered first, the time of the request and the event :data:`features.event_weights.REQUEST_EVENT`, so it
is weighed by the one event-weight table like any other event. Requests without a resident, or that offered
nothing, teach the recommender nothing about a resident (they still count on the planner page). Feedback on the
offered services (``POST /feedback`` with the request's id) arrives as ordinary events.

``training`` never imports ``serving``: callers pass the frame of ``FeedbackStore.requests()``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.event_weights import REQUEST_EVENT
from features.feedback_columns import ASKED_AT, OFFERED, REQUEST_CHANNEL, REQUEST_ID
from training.online_metrics import require_columns

_NEEDS = (REQUEST_ID, C.RESIDENT, ASKED_AT, OFFERED)


def request_interactions(requests: pd.DataFrame) -> pd.DataFrame:
    """Stored requests as interactions (contract columns plus ``request_id``), one per request of a named resident
    that offered at least one service.

    Parameters
    ----------
    requests : pandas.DataFrame
        ``FeedbackStore.requests()``: ``request_id``, ``resident_id`` (missing for anonymous requests),
        ``asked_at``, ``offered`` (service ids in rank order) and, optionally, ``channel``.

    Raises
    ------
    training.online_metrics.OnlineMetricsError
        If a needed column is missing.
    """
    require_columns(requests, _NEEDS, "requests")
    named = requests[requests[C.RESIDENT].notna() & requests[OFFERED].map(lambda o: bool(o))]
    channel = (named[REQUEST_CHANNEL].astype(object).where(named[REQUEST_CHANNEL].notna(), "online")
               if REQUEST_CHANNEL in named else pd.Series("online", index=named.index))
    return pd.DataFrame({
        REQUEST_ID: named[REQUEST_ID].astype("string").to_numpy(),
        C.RESIDENT: named[C.RESIDENT].astype("string").to_numpy(),
        C.SERVICE: pd.array([str(o[0]) for o in named[OFFERED]], dtype="string"),
        C.TIMESTAMP: pd.to_datetime(named[ASKED_AT]).to_numpy(),
        C.EVENT: REQUEST_EVENT, C.RATING: np.nan, C.CHANNEL: channel.to_numpy(dtype=object), C.COMMENT: None})


__all__ = ["request_interactions"]
