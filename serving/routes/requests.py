"""``POST /requests``: a resident's need in their own words → understood categories and services to offer.

Every request is stored before the answer leaves (the text redacted: phone, ID-card, bank-card and plate numbers
replaced), also when nothing matched; when the store cannot take it the answer is 503 with ``Retry-After`` and
nothing is stored. The text itself is never logged: log lines name the request id only.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError

from serving.deps import HolderDep, PlatformAccess, ServedModelDep, one_writer, ready_store
from serving.request_answer import UnknownResidentNoCommunityError, answer_request
from serving.request_models import RequestAnswerPublic, RequestIn
from serving.routes.recommendations import _check_community

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/requests", tags=["requests"], dependencies=[PlatformAccess])


@router.post("", response_model=RequestAnswerPublic, summary="Understand a free-text request and offer services",
             responses={
                 400: {"description": "the body is not UTF-8 JSON"},
                 401: {"description": "missing or unknown API key"},
                 403: {"description": "the key's role may not send requests"},
                 404: {"description": "unknown community"},
                 422: {"description": "invalid text (empty, whitespace or emoji only, over 500 characters, not a "
                                      "string), or an unknown resident without community_id; the detail names the "
                                      "field"},
                 503: {"description": "no model loaded yet, or the feedback store is unavailable (nothing stored); "
                                      "retry after Retry-After"}})
def post_request(body: RequestIn, served: ServedModelDep, holder: HolderDep, request: Request) -> RequestAnswerPublic:
    """Categories with confidence, up to ``k`` services (with the words that matched and the department to route
    to), a complaint flag, the services the rules keep from the resident and why, and a message with categories to
    try when nothing matched. The request is stored (redacted) either way."""
    _check_community(served, body.community_id)
    model = holder.for_resident(body.resident_id, served) if body.resident_id else served
    if model.requests is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"model version {model.version} serves without a request text model (see the server "
                            "log); POST /models/reload retries", headers={
                                "Retry-After": str(request.app.state.settings.retry_after_seconds)})
    try:
        answer = answer_request(model, model.requests, body)
    except UnknownResidentNoCommunityError as exc:
        raise RequestValidationError([{"loc": ("body", "resident_id"), "msg": str(exc), "type": "value_error"}]
                                     ) from exc
    store = ready_store(request)
    with one_writer(request):
        store.log_request(answer.stored, answer.offered)
    logger.info("request %s: %d service(s) offered, intent %s", answer.public.request_id, answer.public.count,
                answer.stored.top_category)
    return answer.public
