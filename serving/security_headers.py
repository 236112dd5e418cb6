"""Headers on every answer (added by :class:`serving.errors.RequestIdMiddleware`), and CORS only where configured.

Every answer carries ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
``X-Frame-Options: DENY``, and — since nearly every answer holds or describes personal data —
``Cache-Control: no-store`` unless the route set its own. Cross-origin browser calls are refused (no CORS
headers) unless ``LINLI_CORS_ORIGINS`` lists the origins allowed.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from serving.settings import ServingSettings

#: Headers added to every answer (a route's own value wins).
HEADERS: Final = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                  (b"x-frame-options", b"DENY"), (b"cache-control", b"no-store"))


def add_cors(app: FastAPI, settings: ServingSettings) -> None:
    """CORS for ``settings.cors_origins`` only (none: off, no ``Access-Control-*`` header is ever sent)."""
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST"], allow_headers=["X-API-Key", "Content-Type"])


__all__ = ["HEADERS", "add_cors"]
