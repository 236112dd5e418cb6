"""The planner page: ``GET /planner`` (the page, or a sign-in form), ``POST /planner/login`` and
``/planner/logout`` (session cookie), ``GET /planner/data`` (the page's tables) and ``GET /planner/assets/*``.

The page reads ``GET /segments`` (composition, segments) and ``GET /planner/data`` (use, ratings, unmet demand,
monthly activity, and residents' requests counted live from the feedback store) with the browser's session cookie,
or with ``X-API-Key`` for tools. Planner and admin keys;
every number is an aggregate with cells under k residents shown as ``"<k"``, and, with differential privacy
on (``LINLI_PLANNER_EPSILON``), a noisy one (:mod:`serving.planner.privacy`). Assets are served by Linli itself
(no CDN): deployments are often offline.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Query, Request, Security, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from profiling.reports import marked_records
from profiling.request_demand import request_demand_table, request_monthly_table
from serving.auth import HEADER, Role, client_address, require
from serving.deps import PlannerAccess, ServedModelDep, ready_store
from serving.feedback_models import MAX_ID
from serving.key_file import KeyRing
from serving.model_holder import ServedModel
from serving.planner.privacy import NOTE, REQUESTS_WITHHELD, segment_totals, served_epsilon
from serving.planner.session import Sessions
from serving.rate_limit import RateLimiter, retry_after
from serving.schemas import QueryText
from serving.store import StoreUnavailableError

router = APIRouter(prefix="/planner", tags=["planner"])
Level = Literal["community", "street", "district"]
_ASSETS = {"planner.js": "text/javascript; charset=utf-8", "planner.css": "text/css; charset=utf-8"}
#: The page allows only its own scripts, styles and requests: nothing from another origin.
_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                                       "form-action 'self'; base-uri 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
_FORBIDDEN = "此密钥的角色无权查看规划页面 · This key's role may not see the planner page"
_TOO_MANY = "尝试次数过多，请稍后再试 · Too many attempts; try again later"
_admit = require(Role.PLANNER)
_scheme = APIKeyHeader(name=HEADER, auto_error=False)


class SegmentDescriptionPublic(BaseModel):
    """A learned segment described in words; ``residents`` over the whole dataset (``"<k"`` when small)."""

    segment: str
    description_zh: str
    description_en: str
    residents: int | str


class PlannerDataPublic(BaseModel):
    """The planner page's tables for one unit (see :mod:`profiling.demand` for what each count means)."""

    level: Level
    id: str
    k: int
    model_version: str
    cutoff: str
    usage: list[dict[str, Any]]
    monthly: list[dict[str, Any]]
    segments: list[SegmentDescriptionPublic]
    requests: list[dict[str, Any]] = []
    requests_monthly: list[dict[str, Any]] = []
    requests_note: str | None = None
    dp_epsilon: float | None = None
    dp_note: str | None = None


def _asset(name: str) -> str:
    return resources.files("serving.planner").joinpath("static", name).read_text(encoding="utf-8")


def _html(name: str, code: int = status.HTTP_200_OK, message: str = "") -> HTMLResponse:
    text = _asset(name).replace("{{message}}", message)
    return HTMLResponse(text, status_code=code, headers=_HEADERS)


@router.get("", response_class=HTMLResponse, summary="The planner page (HTML; sign-in form without a key)",
            responses={401: {"description": "no valid key or session: the sign-in form"},
                       403: {"description": "the key's role may not see the page"}})
def page(request: Request, key: Annotated[str | None, Security(_scheme)] = None) -> HTMLResponse:
    """The page for planner and admin keys (``X-API-Key`` or the session cookie); else the sign-in form."""
    try:
        _admit(request, key)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_403_FORBIDDEN:
            return _html("login.html", exc.status_code, _FORBIDDEN)
        return _html("login.html", exc.status_code)
    return _html("index.html")


@router.post("/login", summary="Sign in to the planner page with a key (form field `key`); sets a session cookie",
             response_class=RedirectResponse, status_code=status.HTTP_303_SEE_OTHER,
             responses={303: {"description": "signed in: back to /planner"},
                        401: {"description": "unknown key: the sign-in form again", "content": {"text/html": {}}},
                        403: {"description": "the key's role may not see the page", "content": {"text/html": {}}}})
async def login(request: Request) -> Response:
    """Check the posted key; a planner or admin key gets an HttpOnly, SameSite=Strict session cookie.

    A wrong key counts as a failed sign-in of the client's address (429 once its budget is spent)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.blocked(client_address(request))
    if wait:
        refused = _html("login.html", status.HTTP_429_TOO_MANY_REQUESTS, _TOO_MANY)
        refused.headers["Retry-After"] = retry_after(wait)
        return refused
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    key = (form.get("key") or [""])[0].strip()
    keys: KeyRing = request.app.state.api_keys
    entry = keys.identify(key) if key else None
    if entry is None:
        limiter.failed(client_address(request))
        return _html("login.html", status.HTTP_401_UNAUTHORIZED, "密钥无效 · Unknown key")
    request.state.key_id, request.state.role = entry.key_id, entry.role
    if entry.role not in (Role.PLANNER, Role.ADMIN):
        return _html("login.html", status.HTTP_403_FORBIDDEN, _FORBIDDEN)
    response = RedirectResponse("/planner", status_code=status.HTTP_303_SEE_OTHER)
    sessions: Sessions = request.app.state.sessions
    sessions.set_cookie(response, entry.key_id, secure=request.url.scheme == "https")
    return response


@router.post("/logout", summary="Sign out of the planner page", response_class=RedirectResponse,
             status_code=status.HTTP_303_SEE_OTHER, responses={303: {"description": "signed out: to the sign-in form"},
                                                               503: {"description": "the store is unavailable"}})
def logout(request: Request) -> Response:
    """End the session for every server process (recorded in the store), clear the cookie, back to the form."""
    sessions: Sessions = request.app.state.sessions
    session = sessions.session(request)
    if session is not None:
        request.app.state.audit.revoke_session(session.session_id, session.expiry)
        entry = request.app.state.api_keys.by_id(session.key_id)
        if entry is not None:
            request.state.key_id, request.state.role = entry.key_id, entry.role
    response = RedirectResponse("/planner", status_code=status.HTTP_303_SEE_OTHER)
    Sessions.clear_cookie(response)
    return response


@router.get("/assets/{name}", summary="The page's script and style (served by Linli, no CDN)",
            responses={404: {"description": "no such asset"}})
def asset(name: str) -> Response:
    """``planner.js`` or ``planner.css``; they hold no data, so no key is needed."""
    if name not in _ASSETS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no planner asset {name!r}")
    return Response(_asset(name), media_type=_ASSETS[name], headers=_HEADERS)


@router.get("/data", response_model=PlannerDataPublic, dependencies=[PlannerAccess],
            summary="The planner page's tables for one unit (aggregates, small cells suppressed)",
            responses={401: {"description": "missing or unknown API key"},
                       403: {"description": "the key's role may not read reports"},
                       404: {"description": "no unit with that id at that level"},
                       503: {"description": "no model loaded yet"}})
def data(served: ServedModelDep, request: Request,
         level: Annotated[Level, Query(description="community, street or district")],
         unit_id: Annotated[QueryText, Query(alias="id", min_length=1, max_length=MAX_ID)]) -> PlannerDataPublic:
    """Use, mean rating, demand and unmet demand per persona and category; active residents per month; residents'
    requests (居民诉求) per persona and category and per month, with what went unmet."""
    profile = served.bundle.profile
    report = profile.reports
    epsilon = served_epsilon(report)
    if unit_id not in set(report.level(level).index.astype(str)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {level} with id {unit_id!r} in the segment report")
    marker = f"<{report.k}"
    noisy = segment_totals(report)
    sizes = {str(s): int(row["residents"]) for s, row in profile.segment_model.descriptions_.iterrows()}
    sizes = sizes if noisy is None else {s: noisy.get(s, 0) for s in sizes}
    segments = [SegmentDescriptionPublic(segment=str(s), description_zh=str(row["description_zh"]),
                                         description_en=str(row["description_en"]),
                                         residents=sizes[str(s)] if sizes[str(s)] >= report.k else marker)
                for s, row in profile.segment_model.descriptions_.iterrows()]
    if epsilon is None:
        asked, by_month, note = _requests(request, served, level, unit_id)
    else:
        asked, by_month, note = [], [], REQUESTS_WITHHELD
    return PlannerDataPublic(level=level, id=unit_id, k=report.k, model_version=served.version,
                             cutoff=str(profile.cutoff.date()), usage=report.long_records("usage", level, unit_id),
                             monthly=report.long_records("monthly", level, unit_id), segments=segments,
                             requests=asked, requests_monthly=by_month, requests_note=note, dp_epsilon=epsilon,
                             dp_note=None if epsilon is None else NOTE)


def _requests(request: Request, served: ServedModel, level: str, unit_id: str
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """The unit's rows of the request tables (:mod:`profiling.request_demand`), from the store as it is now."""
    try:
        stored = ready_store(request).requests()
    except StoreUnavailableError:
        return [], [], "反馈库暂不可用，居民诉求稍后显示 · The feedback store is unavailable; requests show again later"
    profile = served.bundle.profile
    report, geography = profile.reports, profile.reports.geography()
    tables = (request_demand_table(stored, profile.personas.tags, geography, report.k),
              request_monthly_table(stored, geography, report.k))
    rows = [table[(table["level"] == level) & (table["unit_id"] == unit_id)].drop(columns=["level", "unit_id"])
            for table in tables]
    return marked_records(rows[0], report.k), marked_records(rows[1], report.k), None
