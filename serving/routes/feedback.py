"""``POST /feedback``: one event or a batch of up to 1000, acknowledged only once durably stored.

Answers: 201 with the number stored and the number of duplicates skipped (after the store committed them);
404 naming the unknown ``request_id`` (nothing of the batch stored); 413 for bodies over the size limit or
batches over 1000 events; 422 naming the invalid field, including a ``timestamp`` after the server's clock or
before the list was served (beyond ``feedback_clock_skew_seconds``) and a ``service_id`` that neither the list
showed nor the catalogue holds; 503 with ``Retry-After`` when the store is unavailable (nothing stored).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import Discriminator, Tag

from privacy.pseudonym import pseudonymise
from serving import metrics
from serving.deps import PlatformAccess, SettingsDep, StoreDep, one_writer
from serving.feedback_models import FeedbackBatch, FeedbackEvent
from serving.model_holder import ModelHolder
from serving.schemas import FeedbackReceiptPublic
from serving.store import EventRejectedError

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
                 422: {"description": "invalid event (a timestamp out of bounds, a service neither shown nor in "
                                        "the catalogue, NUL or invalid Unicode in text); the detail names the field"},
                 503: {"description": "feedback store unavailable; nothing stored; retry after Retry-After"}})
def post_feedback(body: Annotated[FeedbackBody, Body(openapi_examples=_EXAMPLES)], store: StoreDep,
                  request: Request, settings: SettingsDep) -> FeedbackReceiptPublic:
    """Store one event or a batch in one transaction; the 201 means every event is on disk.

    Events already stored (same request, service, event, timestamp, rating, channel and comment) are counted
    as ``duplicates`` and not stored again, so a retry is safe when it sends the same timestamps."""
    batch = isinstance(body, FeedbackBatch)
    events = [e.model_copy(update={"resident_id": pseudonymise(e.resident_id) if e.resident_id else None})
              for e in (body.events if isinstance(body, FeedbackBatch) else [body])]
    skew = timedelta(seconds=settings.feedback_clock_skew_seconds)
    try:
        with one_writer(request), metrics.commit_timer("feedback_events"):
            stored = store.add_events(events, skew=skew, services=_catalogue(request.app.state.holder))
    except EventRejectedError as exc:
        metrics.FEEDBACK.labels("refused").inc(len(events))
        loc = ("body", "events", exc.index, exc.field) if batch else ("body", exc.field)
        raise RequestValidationError([{"loc": loc, "msg": str(exc), "type": "value_error"}]) from exc
    except Exception:  # unknown request, constraint, store unavailable: answered by the app's handlers
        metrics.FEEDBACK.labels("refused").inc(len(events))
        raise
    metrics.FEEDBACK.labels("accepted").inc(stored)
    metrics.FEEDBACK.labels("duplicate").inc(len(events) - stored)
    return FeedbackReceiptPublic(stored=stored, duplicates=len(events) - stored)


def _catalogue(holder: ModelHolder) -> set[str]:
    """Services of the serving models (empty while none serves: then only services a list showed pass)."""
    if not holder.ready:
        return set()
    models = [holder.current, *([holder.challenger] if holder.challenger else [])]
    return {service for model in models for service in model.catalog.ids}
