"""``GET /audit``: the audit log (admin keys only; the read is itself recorded)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from serving.deps import AdminAccess

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[AdminAccess])


class AuditRowPublic(BaseModel):
    """One audit row: ``seq``, UTC time ``at``, the key's id and role, ``action``, ``target``, client
    ``address``, answer ``status``, and the SM3 chain (``prev_hash``, ``hash``)."""

    seq: int
    at: str
    key_id: str | None
    role: str | None
    action: str
    target: str | None
    address: str | None
    status: int | None
    prev_hash: str
    hash: str


class AuditPublic(BaseModel):
    """Audit rows, oldest first."""

    data: list[AuditRowPublic]
    count: int


@router.get("", response_model=AuditPublic, summary="The audit log since a time (admin)",
            responses={401: {"description": "missing or unknown API key"}, 403: {"description": "admin keys only"},
                       503: {"description": "the feedback store is unavailable"}})
def read_audit(request: Request,
               since: Annotated[datetime | None, Query(description="ISO time with zone, e.g. 2026-12-01T00:00+08:00"
                                                       )] = None,
               limit: Annotated[int, Query(ge=1, le=10_000, description="most rows answered")] = 1000,
               ) -> dict[str, Any]:
    """Rows at or after ``since`` (a time without zone is read as UTC), oldest first."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    rows = request.app.state.audit.rows(since=since, limit=limit)
    return {"data": rows, "count": len(rows)}
