"""Headers on every answer, and CORS only where configured.

Every answer carries ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
``X-Frame-Options: DENY``, and — since nearly every answer holds or describes personal data —
``Cache-Control: no-store`` unless the route set its own. Cross-origin browser calls are refused (no CORS
headers) unless ``LINLI_CORS_ORIGINS`` lists the origins allowed.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from serving.errors import ASGIApp, Message, Receive, Scope, Send
from serving.settings import ServingSettings

#: Headers added to every answer (a route's own value wins).
HEADERS: Final = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                  (b"x-frame-options", b"DENY"), (b"cache-control", b"no-store"))


class SecurityHeadersMiddleware:
    """A plain ASGI middleware adding :data:`HEADERS` to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in HEADERS if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_security_middleware(app: FastAPI, settings: ServingSettings) -> None:
    """Security headers on every answer; CORS for ``settings.cors_origins`` only (none: off)."""
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST"], allow_headers=["X-API-Key", "Content-Type"])
    app.add_middleware(SecurityHeadersMiddleware)


__all__ = ["HEADERS", "SecurityHeadersMiddleware", "add_security_middleware"]
