"""``GET /health`` (the process answers) and ``GET /ready`` (a model serves); both open, no key."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from serving.deps import HolderDep
from serving.schemas import HealthPublic, ReadyPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, summary="Liveness")
def health() -> HealthPublic:
    """200 while the process runs."""
    return HealthPublic()


@router.get("/ready", response_model=ReadyPublic, summary="Readiness",
            responses={503: {"model": ReadyPublic, "description": "no model serves yet"}})
def ready(holder: HolderDep, request: Request, response: Response) -> ReadyPublic:
    """200 once a model serves (the feedback store may still be unavailable: see ``store``), else 503."""
    store = "ok" if request.app.state.store.ping() else "unavailable"
    if not holder.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = str(request.app.state.settings.retry_after_seconds)
        # the load error names the registry and its folders: the log has it, the open endpoint does not
        detail = "loading the model" if holder.loading else (
            f"the last load of alias {holder.settings.model_alias!r} failed; see the server log" if holder.last_error
            else "no model loaded")
        return ReadyPublic(status="not ready", model_version=None, store=store, detail=detail)
    return ReadyPublic(status="ready", model_version=holder.current.version, store=store, detail=None)
