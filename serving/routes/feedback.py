"""``POST /feedback``: one event or a batch of up to 1000, acknowledged only once durably stored.

Answers: 201 with the number stored (after the store committed them); 404 naming the unknown
``request_id`` (nothing of the batch stored); 413 for bodies over the size limit or batches over 1000
events; 422 naming the invalid field; 503 with ``Retry-After`` when the store is unavailable (nothing stored).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, status
from pydantic import Discriminator, Tag

from serving.deps import PlatformAccess, StoreDep, one_writer
from serving.feedback_models import FeedbackBatch, FeedbackEvent
from serving.schemas import FeedbackReceiptPublic

router = APIRouter(prefix="/feedback", tags=["feedback"], dependencies=[PlatformAccess])


def _kind(value: Any) -> str:
    """A body with ``events`` is a batch; anything else is validated as one event."""
    if isinstance(value, FeedbackBatch) or (isinstance(value, dict) and "events" in value):
        return "batch"
    return "event"


FeedbackBody = Annotated[
    Annotated[FeedbackEvent, Tag("event")] | Annotated[FeedbackBatch, Tag("batch")], Discriminator(_kind)]

_EVENT = {"request_id": "0b6f3a52-8d0e-4a57-9c53-4b8f2f6f9a11", "resident_id": "R0000001", "service_id": "SV024",
          "event": "click", "timestamp": "2026-11-02T08:15:00+08:00", "channel": "online"}
_EXAMPLES = {
    "one event": {"summary": "one click", "value": _EVENT},
    "batch": {"summary": "a batch (1–1000 events, stored all or nothing)", "value": {"events": [
        _EVENT, {**_EVENT, "event": "rate", "rating": 5, "comment": "很方便", "timestamp": "2026-11-03T10:00:00"}]}},
}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FeedbackReceiptPublic,
             summary="Store feedback on served lists", responses={
                 400: {"description": "the body is not UTF-8 JSON"},
                 401: {"description": "missing or unknown API key"},
                 403: {"description": "the key's role may not send feedback"},
                 404: {"description": "a request_id was never served to that resident; nothing stored"},
                 413: {"description": "body over the size limit, or more than 1000 events"},
                 422: {"description": "invalid event; the detail names the field"},
                 503: {"description": "feedback store unavailable; nothing stored; retry after Retry-After"}})
def post_feedback(body: Annotated[FeedbackBody, Body(openapi_examples=_EXAMPLES)], store: StoreDep,
                  request: Request) -> FeedbackReceiptPublic:
    """Store one event or a batch in one transaction; the 201 means every event is on disk."""
    events = body.events if isinstance(body, FeedbackBatch) else [body]
    with one_writer(request):
        stored = store.add_events(events)
    return FeedbackReceiptPublic(stored=stored)
