"""Bodies of ``POST /requests``: the free-text request, the answer, and the row the feedback store keeps.

The text is checked at the edge: it must be a JSON string (a number is refused, not converted), hold something
besides whitespace and emoji, be at most 500 characters (:meth:`understanding.model.RequestModel.validate_text`)
and be storable by every backend (no NUL, no lone surrogate). Each failure is a 422 naming ``text``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from serving.feedback_models import Identifier, storable_text
from understanding.model import RequestModel

#: Most services one answer may offer.
MAX_K = 20


def _valid_text(value: str) -> str:
    RequestModel.validate_text(value)  # empty, whitespace only, emoji only, over 500 characters
    return storable_text(value)


RequestText = Annotated[StrictStr, AfterValidator(_valid_text)]


class RequestIn(BaseModel):
    """A resident's request in their own words.

    Parameters
    ----------
    text : str
        Up to 500 characters, Chinese first (English, pinyin, traditional characters and typos are understood).
    resident_id : str, optional
        A resident the model knows: their personalised scores and the service rules apply. An unknown resident
        needs ``community_id``.
    community_id : str, optional
        Where the resident lives or asks from; only services offered there are offered. Default: a known
        resident's home community.
    channel : {"online", "offline"}, optional
        How the request reached the platform (app or web; counter, hotline or grid worker). Stored with it.
    k : int, default 5
        Most services offered (1–20).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"resident_id": "R000042", "text": "我妈八十多了腿脚不利索，中午没人给她做饭"},
        {"community_id": "C001", "text": "孩子放学没人接怎么办", "channel": "online"}]})

    text: RequestText
    resident_id: Identifier | None = None
    community_id: Identifier | None = None
    channel: Literal["online", "offline"] | None = None
    k: int = Field(5, ge=1, le=MAX_K, strict=True)


class IntentPublic(BaseModel):
    """A service category the request is about, with the model's confidence (0–1)."""

    category: str
    confidence: float


class RequestServicePublic(BaseModel):
    """One offered service: ``matched`` holds the words of the request that led to it; ``department`` the provider
    to route the request to."""

    rank: int
    service_id: str
    name_zh: str
    name_en: str | None
    category: str
    channel: str
    score: float
    matched: list[str]
    department: str | None


class NotOfferedPublic(BaseModel):
    """A service the request named that the rules keep from this resident, and why (English and Chinese)."""

    service_id: str
    name_zh: str
    reason_code: str
    reason: str
    reason_zh: str


class RequestAnswerPublic(BaseModel):
    """What was understood and offered. ``request_id`` is the id to send feedback on the offered services with
    (``POST /feedback``; for an anonymous request, without ``resident_id``). ``unmet`` lists understood categories
    that nothing offered in the resident's community meets (or only online, for a resident who prefers
    offline)."""

    request_id: str
    resident_id: str | None
    community_id: str | None
    model_version: str
    intents: list[IntentPublic]
    services: list[RequestServicePublic]
    count: int
    complaint: bool
    complaint_kind: str | None
    not_offered: list[NotOfferedPublic]
    unmet: list[str]
    message: str | None
    suggested_categories: list[str]


__all__ = ["MAX_K", "IntentPublic", "NotOfferedPublic", "RequestAnswerPublic", "RequestIn", "RequestServicePublic",
           "RequestText"]
