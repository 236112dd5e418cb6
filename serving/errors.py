"""Error answers that never leak: a short message, the field at fault and the request id; details go to the log.

Every answer carries an ``X-Request-ID`` header (the client's own when it sent a safe one: 8-64 letters, digits,
``-``, ``_``, ``.``; else a fresh uuid4 hex) and every error body its ``request_id``: the server logs the full
cause (store address, registry path, the exception) under that id, so an operator can find it while a client learns
nothing about the deployment. Input is echoed only as a short, printable excerpt (:func:`excerpt`): at most
:data:`EXCERPT` characters, NUL, control characters and lone surrogates escaped, NaN and infinities as text, so a
hostile value can neither be reflected in bulk nor break the JSON encoding of the answer itself.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.logging_json import REQUEST_ID

logger = logging.getLogger("serving.errors")

#: Header carrying the id under which the server logs what happened with a request.
REQUEST_ID_HEADER: Final = "X-Request-ID"
#: Most characters of a client's input echoed back in an error.
EXCERPT: Final = 40
#: Most characters of an error message.
MESSAGE: Final = 600
#: Most field errors listed in one 422 answer.
MAX_ERRORS: Final = 20
_STATE_KEY: Final = "request_id"
#: A client's ``X-Request-ID`` is kept when it matches this (anything else could forge or break log lines).
SAFE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._-]{8,64}")
_HEADER_BYTES: Final = REQUEST_ID_HEADER.lower().encode()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestIdMiddleware:
    """Give every HTTP request a fresh id (``request.state.request_id``) and answer it in ``X-Request-ID``, with
    ``headers`` added to every answer that does not set them itself (:mod:`serving.security_headers`).

    A plain ASGI middleware (no body buffering), so it costs microseconds per request.
    """

    def __init__(self, app: ASGIApp, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self.app = app
        self.headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((value for name, value in scope.get("headers", ()) if name == _HEADER_BYTES), b"")
        text = sent.decode("latin-1")
        rid = text if SAFE_REQUEST_ID.fullmatch(text) else uuid.uuid4().hex
        scope.setdefault("state", {})[_STATE_KEY] = rid
        token = REQUEST_ID.set(rid)  # every log line written while answering carries it

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in self.headers if name not in present]
                message["headers"] = [*headers, (REQUEST_ID_HEADER.lower().encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


def request_id(request: Request) -> str:
    """The id of ``request`` (set by :class:`RequestIdMiddleware`; a fresh one if it did not run)."""
    rid = getattr(request.state, _STATE_KEY, None)
    if not isinstance(rid, str):
        rid = uuid.uuid4().hex
        setattr(request.state, _STATE_KEY, rid)
    return rid


def safe_text(text: str, limit: int = EXCERPT) -> str:
    """``text`` cut to ``limit`` characters with every unprintable character (NUL, controls, lone surrogates)
    escaped as ``\\xNN`` / ``\\uNNNN``; ``…`` marks a cut."""
    cut = text[:limit]
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in cut)
    return shown + ("…" if len(text) > limit else "")


def excerpt(value: object) -> object:
    """A JSON-safe, short stand-in for a client's input value (see the module docstring)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**15 else "(a very large number)"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)  # 'nan', 'inf', '-inf'
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return "(an object)"
    if isinstance(value, list | tuple):
        return "(an array)"
    return f"({type(value).__name__})"


def error_body(request: Request, detail: object) -> dict[str, object]:
    """The JSON body of an error: ``detail`` and the request id."""
    return {"detail": detail, "request_id": request_id(request)}


def answer(request: Request, code: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """An error answer with a short, safe message."""
    return JSONResponse(error_body(request, safe_text(message, MESSAGE)), status_code=code, headers=headers)


def field_errors(errors: list[Any]) -> list[dict[str, object]]:
    """Pydantic errors as short, JSON-safe entries: ``loc`` (the field), ``msg``, ``type`` and an ``input``
    excerpt; at most :data:`MAX_ERRORS` of them."""
    out: list[dict[str, object]] = []
    for error in errors[:MAX_ERRORS]:
        loc = [part if isinstance(part, int) else safe_text(str(part)) for part in error.get("loc", ())]
        entry: dict[str, object] = {"loc": loc, "msg": safe_text(str(error.get("msg", "")), MESSAGE),
                                    "type": safe_text(str(error.get("type", "")))}
        if "input" in error:
            entry["input"] = excerpt(error["input"])
        out.append(entry)
    return out


def invalid_answer(request: Request, exc: RequestValidationError) -> JSONResponse:
    """The 422 answer to invalid input: each field at fault, logged under the request id."""
    errors = list(exc.errors())
    logger.info("request %s: 422, %s", request_id(request),
                "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in errors[:MAX_ERRORS]))
    return JSONResponse(error_body(request, field_errors(errors)), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def add_safe_handlers(app: FastAPI, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Answer HTTP errors and crashes with short, safe bodies carrying the request id (and add the id, and
    ``headers``, to every answer)."""
    app.add_middleware(RequestIdMiddleware, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return answer(request, exc.status_code, detail, exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        rid = request_id(request)
        logger.error("request %s: %s %s failed", rid, request.method, request.url.path, exc_info=exc)
        return answer(request, status.HTTP_500_INTERNAL_SERVER_ERROR,
                      "internal error; the server log has the details under this request id")


__all__ = ["EXCERPT", "REQUEST_ID_HEADER", "RequestIdMiddleware", "add_safe_handlers", "answer", "error_body",
           "excerpt", "field_errors", "invalid_answer", "request_id", "safe_text"]
