"""Request models of the feedback loop: served lists (what the API showed) and feedback events (what residents did).

Timestamps follow the data contract: naive local time in Asia/Shanghai. An aware timestamp (``...Z`` or
``+08:00``) is converted to Shanghai time; a naive one is taken as already local.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from features.columns import Columns as C

# Column names of the feedback tables beyond features.Columns (and recommenders.SCORE); one home for them.
from features.feedback_columns import (  # noqa: F401  (re-exported: serving's modules import them from here)
    MODEL_VERSION,
    POSITION,
    PROPENSITY,
    RECEIVED_AT,
    REQUEST_ID,
    SERVED_AT,
    VARIANT,
)
from features.local_time import TIMEZONE, now_local
from features.schema import MAX_COMMENT_LENGTH, MAX_ID_LENGTH, rating_problem

#: Most events one feedback batch may carry.
MAX_BATCH: Final = 1000
#: Longest free-text comment accepted, in characters.
MAX_COMMENT: Final = MAX_COMMENT_LENGTH  # the loaders' rule (features.schema): one set of rules for both
#: Longest id (request, resident, service, model version, variant) accepted, in characters.
MAX_ID: Final = MAX_ID_LENGTH
#: Most services one served list may hold.
MAX_SERVED_ITEMS: Final = 1000


#: The event names of :data:`features.Vocab.EVENTS`, weakest to strongest (a test keeps them equal).
EventName = Literal["impression", "view", "click", "book", "use", "rate"]
#: Channels an event may happen on (:data:`features.Vocab.EVENT_CHANNEL`).
EventChannel = Literal["online", "offline"]
#: NUL (PostgreSQL refuses it in text, SQLite keeps it) and lone surrogates (not Unicode; no encoder takes them).
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str) -> str:
    """``value`` unchanged if every backend can store it as text; else a ``ValueError`` saying why.

    Text is checked here, at the edge, so SQLite and PostgreSQL take exactly the same input.
    """
    found = _UNSTORABLE.search(value)
    if found is not None:
        kind = "a NUL character (\\x00)" if found.group() == "\x00" else "a lone surrogate (not valid Unicode)"
        raise ValueError(f"must not contain {kind}; found at character {found.start()}")
    return value


#: Free text every backend stores alike.
Text = Annotated[str, AfterValidator(storable_text)]
Comment = Annotated[str, Field(max_length=MAX_COMMENT), AfterValidator(storable_text)]
Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID), AfterValidator(storable_text)]

_FORBID = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


def to_local(moment: datetime) -> datetime:
    """``moment`` as naive Asia/Shanghai time: aware values are converted, naive ones are kept as they are."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(TIMEZONE).replace(tzinfo=None)


class FeedbackEvent(BaseModel):
    """One resident's reaction to a service shown in a served list.

    Parameters
    ----------
    request_id : str
        The ``request_id`` of the served list the service was shown in.
    resident_id : str, optional
        The resident who reacted; must be the resident the list was served to. Omitted (or ``null``) for feedback
        on the services offered to an anonymous free-text request (``POST /requests`` without ``resident_id``):
        such feedback is attributed to no resident.
    service_id : str
        The service reacted to.
    event : {"impression", "view", "click", "book", "use", "rate"}
        What happened (weakest to strongest signal).
    timestamp : datetime, optional
        When it happened; defaults to now. Aware values are converted to Asia/Shanghai local time.
    rating : float, optional
        1–5; required when ``event`` is ``"rate"`` and forbidden otherwise.
    channel : {"online", "offline"}, optional
        Where it happened.
    comment : str, optional
        Free text, at most 500 characters. Must not contain names, phone or ID numbers.
    """

    model_config = ConfigDict(
        **_FORBID,
        json_schema_extra={"examples": [
            {"request_id": "3f2b9c0e4d5a4e1f9a7b6c5d4e3f2a1b", "resident_id": "R000042", "service_id": "S017",
             "event": "click", "timestamp": "2026-11-02T08:15:00+08:00", "channel": "online"},
            {"request_id": "3f2b9c0e4d5a4e1f9a7b6c5d4e3f2a1b", "resident_id": "R000042", "service_id": "S017",
             "event": "rate", "rating": 5, "comment": "很方便"},
        ]},
    )

    request_id: Identifier
    resident_id: Identifier | None = None
    service_id: Identifier
    event: EventName
    timestamp: datetime = Field(default_factory=now_local)
    rating: float | None = Field(default=None, ge=1, le=5, validate_default=True)
    channel: EventChannel | None = None
    comment: Comment | None = None

    @field_validator(C.TIMESTAMP)
    @classmethod
    def _local_time(cls, value: datetime) -> datetime:
        return to_local(value)

    @field_validator(C.RATING)
    @classmethod
    def _rating_only_on_rate(cls, value: float | None, info: ValidationInfo) -> float | None:
        event = info.data.get(C.EVENT)
        if event is None:  # the event itself is invalid and already reported
            return value
        problem = rating_problem(event, value)  # the loaders' rule too (features.schema)
        if problem is not None:
            raise ValueError(problem)
        return value


class FeedbackBatch(BaseModel):
    """Between 1 and 1000 feedback events, stored all-or-nothing."""

    model_config = ConfigDict(extra="forbid")

    events: list[FeedbackEvent] = Field(min_length=1, max_length=MAX_BATCH)


class ServedItem(BaseModel):
    """One service in a served list.

    Parameters
    ----------
    service_id : str
        The service shown.
    position : int
        Where it was shown; the API's rank (1 = top). Unique within a list.
    score : float
        The model's score for it.
    propensity : float, optional
        Probability that the serving policy put this service in this list (1 for a deterministic top-k
        list; below 1 under exploration, see :mod:`serving.exploration`). Off-policy estimates weight clicks
        by its inverse; ``None`` when unknown.
    """

    model_config = _FORBID

    service_id: Identifier
    position: int = Field(ge=0, le=MAX_SERVED_ITEMS)
    score: float
    propensity: float | None = Field(default=None, gt=0, le=1)


class ServedList(BaseModel):
    """A list of recommendations as served, logged so feedback can be joined back to model and variant.

    Parameters
    ----------
    request_id : str
        Unique id of the response (the API generates it); feedback refers to it.
    resident_id : str or None
        The resident the list was served to; ``None`` only for the services offered to an anonymous free-text
        request.
    model_version : str
        Registry version of the bundle that ranked the list.
    variant : str, default "champion"
        A/B arm (registry alias) that served it.
    items : list of ServedItem
        The services in order; may be empty when nothing was eligible.
    served_at : datetime, optional
        When it was served; defaults to now, in Asia/Shanghai local time.
    """

    model_config = _FORBID

    request_id: Identifier
    resident_id: Identifier | None
    model_version: Identifier
    variant: Identifier = "champion"
    items: list[ServedItem] = Field(default_factory=list, max_length=MAX_SERVED_ITEMS)
    served_at: datetime = Field(default_factory=now_local)

    @field_validator(SERVED_AT)
    @classmethod
    def _local_time(cls, value: datetime) -> datetime:
        return to_local(value)

    @field_validator("items")
    @classmethod
    def _unique_positions(cls, items: list[ServedItem]) -> list[ServedItem]:
        positions = [item.position for item in items]
        if len(set(positions)) != len(positions):
            raise ValueError("each item needs its own position")
        return items


class StoredRequest(BaseModel):
    """A request as the feedback store keeps it: the text only after redaction."""

    model_config = ConfigDict(extra="forbid")

    request_id: Identifier
    resident_id: Identifier | None
    community_id: Identifier | None
    channel: Literal["online", "offline"] | None
    asked_at: datetime = Field(default_factory=now_local)
    model_version: Identifier
    text_redacted: str
    top_category: str | None
    intents: list[tuple[str, float]]
    offered: list[str]
    complaint: str | None
    unmet: list[str]
