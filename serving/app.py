"""The FastAPI application: :func:`create_app` wires settings, keys, the model holder and the feedback store.

Nothing heavy happens at import. :func:`lifespan` starts loading the champion in a background thread, so
``/health`` answers at once and ``/ready`` says 503 until the model serves (minutes for a large bundle
seen for the first time, seconds when its precomputed lists are cached).

``/openapi.json`` is always served (it describes the API and holds no data; schemathesis and client
generators read it); ``/docs`` and ``/redoc`` are off unless ``LINLI_API_DOCS=true``, because those pages load
their scripts from a CDN (an offline deployment cannot reach it). Error answers are short and safe, and carry
the request id the server logged their cause under (:mod:`serving.errors`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from serving import privacy_edge
from serving.audit import AuditLog
from serving.audit_middleware import AuditMiddleware
from serving.auth import keys_from_settings
from serving.errors import add_safe_handlers, answer, invalid_answer, request_id
from serving.feedback_models import MAX_BATCH
from serving.group_commit import GroupCommit
from serving.log_redaction import install_access_log_filter
from serving.metrics import MetricsMiddleware
from serving.model_holder import ModelHolder, ModelLoadError
from serving.planner.session import Sessions
from serving.rate_limit import RateLimiter
from serving.reload_sync import ReloadWatcher, ServingGeneration
from serving.routes import audit as audit_routes
from serving.routes import erasure, feedback, health, models, planner, recommendations, requests, residents, segments
from serving.routes import metrics as metrics_routes
from serving.security_headers import HEADERS, add_cors
from serving.settings import ServingSettings, get_settings
from serving.store import (
    DuplicateRequestError,
    FeedbackStore,
    InvalidFeedbackError,
    StoreUnavailableError,
    UnknownRequestError,
)

logger = logging.getLogger("serving")

DESCRIPTION = """Recommendations of community services for residents, their feedback, personas and segment reports.

Send your key in the `X-API-Key` header. Roles: **platform** (recommendations,
free-text requests, feedback, one resident's persona),
**planner** (segment reports only), **admin** (everything, including models and `/audit`). Planner and admin
calls are recorded in the audit log. `/health` and `/ready` are open.
Errors are JSON `{"detail": ..., "request_id": ...}`: 401 missing/unknown key, 403 role not allowed, 429 rate limit
(with `Retry-After`), 404 unknown
resident, community or request id, 409 reload rejected, 413 body too large, 422 invalid input (the detail names
the field and echoes at most a short excerpt), 503 model not loaded yet or feedback store unavailable (with
`Retry-After`). The server logs each error's cause under its `request_id` (also in the `X-Request-ID` header).
This schema (`/openapi.json`) is always served; the `/docs` and `/redoc` pages only with `LINLI_API_DOCS=true`
(they load Swagger UI and ReDoc from a CDN)."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start loading the model (unless one serves already); at shutdown write the queued lists (for at most
    ``retry_after_seconds``), then close the store."""
    holder: ModelHolder = app.state.holder
    if not holder.ready and app.state.load_on_start:
        holder.loading = True
        threading.Thread(target=_load_quietly, args=(holder,), name="linli-model-load", daemon=True).start()
    watcher: ReloadWatcher | None = app.state.reload_watcher
    if watcher is not None:
        watcher.start()
    yield
    if watcher is not None:
        watcher.stop()
    app.state.served_log.drain(timeout=app.state.settings.retry_after_seconds)  # queued lists, while the store allows
    app.state.audit.close()
    app.state.store.close()


def create_app(settings: ServingSettings | None = None, *, holder: ModelHolder | None = None,
               store: FeedbackStore | None = None, load_on_start: bool = True) -> FastAPI:
    """Build the API.

    Parameters
    ----------
    settings : ServingSettings, optional
        Default: read from the environment.
    holder : ModelHolder, optional
        A holder to share (tests); default a new one for ``settings``.
    store : FeedbackStore, optional
        Default: ``FeedbackStore(settings.store_url())``.
    load_on_start : bool, default True
        Start loading the model at start-up when the holder has none.

    Raises
    ------
    serving.auth.ApiKeyConfigError
        If the configured API keys cannot be read.
    """
    settings = settings or get_settings()
    keys = keys_from_settings(settings)
    if not len(keys):
        logger.warning("no API keys configured (LINLI_API_KEYS / LINLI_API_KEYS_FILE): every endpoint but /health "
                       "and /ready answers 401")
    app = FastAPI(title="Linli recommendation API", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs" if settings.api_docs else None, redoc_url="/redoc" if settings.api_docs else None,
                  max_body_size=settings.max_body_bytes)
    app.state.settings = settings
    app.state.api_keys = keys
    app.state.sessions = Sessions.from_settings(settings)
    app.state.holder = holder or ModelHolder(settings)
    app.state.store = store or FeedbackStore(settings.store_url())
    app.state.write_lock = threading.Lock() if app.state.store.url.startswith("sqlite") else None
    # concurrent requests share one durable write of their lists, and wait on it a bounded time
    app.state.served_log = GroupCommit(settings.served_log_wait_ms / 1000)
    app.state.store_ready = False
    app.state.store_lock = threading.Lock()
    app.state.load_on_start = load_on_start
    app.state.rate_limiter = RateLimiter(
        {"platform": settings.rate_limit_platform, "planner": settings.rate_limit_planner,
         "admin": settings.rate_limit_admin}, settings.rate_burst_seconds, settings.auth_failures_per_minute,
        settings.rate_limit_store)
    # a reload answered by another server process reaches this one (serving.reload_sync)
    app.state.reload_watcher = (ReloadWatcher(app.state.holder, ServingGeneration(app.state.store),
                                              settings.reload_check_seconds)
                                if settings.reload_check_seconds > 0 else None)
    app.state.audit = AuditLog(app.state.store)
    privacy_edge.install(app)  # pseudonyms at the edge, the erasure ledger's view
    for module in (recommendations, requests, feedback, residents, erasure, segments, planner, models, health,
                   audit_routes, metrics_routes):
        app.include_router(module.router)
    app.add_middleware(AuditMiddleware)  # inside the request-id middleware added next
    _add_error_handlers(app, settings)
    add_cors(app, settings)
    app.add_middleware(MetricsMiddleware)  # outermost: times and counts every answer, errors included
    install_access_log_filter()
    return app


def _load_quietly(holder: ModelHolder) -> None:
    try:
        holder.load_all()
    except ModelLoadError:
        pass  # logged by the holder; /ready says why, POST /models/reload retries
    except Exception:
        logger.exception("model load crashed")
        holder.loading = False


def _add_error_handlers(app: FastAPI, settings: ServingSettings) -> None:
    """Domain errors as short answers; their full cause (store address, SQL) is logged under the request id."""
    add_safe_handlers(app, HEADERS)
    retry = {"Retry-After": str(settings.retry_after_seconds)}

    @app.exception_handler(StoreUnavailableError)
    async def _store_down(request: Request, exc: StoreUnavailableError) -> Response:
        logger.warning("request %s: 503, %s", request_id(request), exc)
        return answer(request, status.HTTP_503_SERVICE_UNAVAILABLE,
                      "the feedback store is unavailable; nothing was stored; retry after Retry-After seconds", retry)

    @app.exception_handler(UnknownRequestError)
    async def _unknown_request(request: Request, exc: UnknownRequestError) -> Response:
        return answer(request, status.HTTP_404_NOT_FOUND, str(exc))

    @app.exception_handler(InvalidFeedbackError)
    async def _invalid_feedback(request: Request, exc: InvalidFeedbackError) -> Response:
        logger.warning("request %s: 422, %s", request_id(request), exc)
        return answer(request, status.HTTP_422_UNPROCESSABLE_CONTENT,
                      "the database refused this batch (a constraint failed); nothing was stored")

    @app.exception_handler(DuplicateRequestError)
    async def _duplicate(request: Request, exc: DuplicateRequestError) -> Response:
        return answer(request, status.HTTP_409_CONFLICT, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if any(e.get("type") == "too_long" and tuple(e.get("loc", ()))[-1:] == ("events",) for e in exc.errors()):
            return answer(request, status.HTTP_413_CONTENT_TOO_LARGE,
                          f"a feedback batch holds at most {MAX_BATCH} events; split it")
        return invalid_answer(request, exc)


__all__ = ["DESCRIPTION", "create_app", "lifespan"]
