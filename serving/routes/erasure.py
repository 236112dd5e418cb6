"""``DELETE /residents/{resident_id}``: erase a resident (PIPL art. 47). Admin keys only.

From the answer on, the resident is not served (404); their served lists, the items in them, their feedback
and any other row about them are deleted from the store; the precomputed-list cache is dropped; and the erasure
ledger (their pseudonym) keeps them out of every later ``linli train``, so the next registered version does not
know them. The audit log records an ``erasure`` row naming the pseudonym (besides the call itself). Erasing twice
is harmless (200 again, nothing left to delete).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from serving.deps import AdminAccess, one_writer, ready_store
from serving.feedback_models import MAX_ID
from serving.privacy_edge import drop_cached_lists
from serving.schemas import QueryText

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/residents", tags=["residents"], dependencies=[AdminAccess])


class ErasurePublic(BaseModel):
    """What an erasure deleted."""

    resident_id: str
    erased: bool
    rows_deleted: dict[str, int]
    cached_lists_dropped: int


@router.delete("/{resident_id}", response_model=ErasurePublic, summary="Erase a resident (PIPL art. 47)",
               responses={401: {"description": "missing or unknown API key"},
                          403: {"description": "only admin keys may erase"},
                          503: {"description": "feedback store unavailable; nothing erased"}})
def erase_resident(
    resident_id: Annotated[QueryText, Path(min_length=1, max_length=MAX_ID, description="the platform's resident id")],
    request: Request,
) -> ErasurePublic:
    """Delete everything Linli holds about one resident and keep them out of later retrains."""
    from privacy.pseudonym import pseudonymise

    stored = pseudonymise(resident_id)
    store = ready_store(request)
    with one_writer(request):
        gone = store.erase_resident(stored)
    request.app.state.erased.add(stored)
    dropped = drop_cached_lists(request.app.state.settings.lists_cache())
    logger.info("erased resident %s: %s rows deleted, %d cached list files dropped", stored, gone, dropped)
    state, client = request.state, request.client
    if request.app.state.settings.audit_enabled:
        request.app.state.audit.append("erasure", key_id=getattr(state, "key_id", None),
                                       role=getattr(state, "role", None), target=stored,
                                       address=client.host if client else None, status=200)
    return ErasurePublic(resident_id=resident_id, erased=True, rows_deleted=gone, cached_lists_dropped=dropped)
