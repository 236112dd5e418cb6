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

# Free-text requests (``POST /requests``): one row each in the ``requests`` table.
#: Variant under which the services offered in answer to a request are logged as a served list (so feedback
#: with its ``request_id`` joins like any other); the online metrics of the recommender leave these lists out.
REQUEST_VARIANT: Final = "request"
#: When the request arrived (naive local time).
ASKED_AT: Final = "asked_at"
#: The request's text with personal data (phone, ID-card, bank-card and plate numbers) replaced by placeholders.
REDACTED_TEXT: Final = "text_redacted"
#: Understood service categories with confidence, JSON ``[[category, confidence], ...]``, best first.
INTENTS: Final = "intents"
#: Top understood category (``None`` when nothing was understood).
TOP_CATEGORY: Final = "top_category"
#: Offered service ids, JSON list in rank order.
OFFERED: Final = "offered"
#: Kind of complaint or dispute the text is (``None`` for a service need).
COMPLAINT: Final = "complaint"
#: Categories the request named that nothing offered meets, JSON list (see ``profiling.request_demand``).
UNMET: Final = "unmet"
#: How the request reached the platform (``online`` or ``offline``).
REQUEST_CHANNEL: Final = "channel"
