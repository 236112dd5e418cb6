"""``GET /health`` (the process answers) and ``GET /ready`` (a model serves); both open, no key."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from serving.deps import HolderDep
from serving.group_commit import LogHealth
from serving.schemas import HealthPublic, ReadyPublic

router = APIRouter(tags=["health"])

_STORE_DETAIL = {"unavailable": "feedback store unavailable: lists are served unlogged and feedback answers 503",
                 "locked": "feedback store locked by another writer: lists are served with their log queued"}


@router.get("/health", response_model=HealthPublic, summary="Liveness")
def health() -> HealthPublic:
    """200 while the process runs."""
    return HealthPublic()


@router.get("/ready", response_model=ReadyPublic, summary="Readiness",
            responses={503: {"model": ReadyPublic, "description": "no model serves yet"}})
def ready(holder: HolderDep, request: Request, response: Response) -> ReadyPublic:
    """200 once a model serves, else 503. ``store`` is ``unavailable`` while the feedback store cannot be reached
    or written (moved away, locked by another process, or its log stalled); ``detail`` then says which, and how
    many served lists were answered before being logged (``queued``) or never logged (``lost``)."""
    state = request.app.state.store.state()
    log: LogHealth = request.app.state.served_log.health()
    if state == "ok" and log.stalled:
        state = "locked"
    store = "ok" if state == "ok" else "unavailable"
    problem = None if state == "ok" else (f"{_STORE_DETAIL[state]} (served lists queued: {log.queued}, "
                                          f"lost: {log.lost}, refused: {log.refused})")
    if not holder.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = str(request.app.state.settings.retry_after_seconds)
        # the load error names the registry and its folders: the log has it, the open endpoint does not
        detail = "loading the model" if holder.loading else (
            f"the last load of alias {holder.settings.model_alias!r} failed; see the server log" if holder.last_error
            else "no model loaded")
        return ReadyPublic(status="not ready", model_version=None, store=store,
                           detail=f"{detail}; {problem}" if problem else detail)
    return ReadyPublic(status="ready", model_version=holder.current.version, store=store, detail=problem)
