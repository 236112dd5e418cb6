"""Column names of the feedback log (served lists and feedback events) beyond :class:`features.Columns`.

One home for both sides of the loop: :mod:`serving.feedback_models` and the store write these columns,
:mod:`training.online_metrics` and the retrain read them. They live here, in the lowest layer, because
training must not import serving.
"""

from __future__ import annotations

from typing import Final

#: Id of one served list; every feedback event refers to it.
REQUEST_ID: Final = "request_id"
#: Registered model version that produced the list.
MODEL_VERSION: Final = "model_version"
#: A/B variant (``champion`` / ``challenger``) the list was served under.
VARIANT: Final = "variant"
#: Position of a service in its served list (0 = top).
POSITION: Final = "position"
#: Probability the serving policy showed the service at that position (for off-policy estimates).
PROPENSITY: Final = "propensity"
#: When the list was served (naive local time).
SERVED_AT: Final = "served_at"
#: When the store received a feedback event (naive local time).
RECEIVED_AT: Final = "received_at"
