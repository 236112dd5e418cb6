"""Signed session cookies for the planner page, so a planner can sign in from an ordinary browser.

A cookie holds ``<expiry>.<key id>.<session id>.<HMAC-SHA256 of the three>``: never the key or its digest.
Each request checks the signature and the expiry, that the session was not signed out, and that the key is
still in force, so a revoked key ends its sessions at once. Sign-outs are kept in the feedback store
(``revoked_sessions``, :meth:`serving.audit.AuditLog.revoke_session`), so every server process refuses the
old cookie. The cookie is HttpOnly and SameSite=Strict, and :mod:`serving.auth` admits it for reads only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response

from serving.key_file import KeyEntry, KeyRing
from serving.settings import ServingSettings
from serving.store import StoreUnavailableError

COOKIE = "linli_session"
_SESSION_ID = re.compile(r"[0-9a-f]{32}")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Session:
    """A checked session token: its key's id, its own id and its expiry (Unix seconds)."""

    key_id: str
    session_id: str
    expiry: int


class Sessions:
    """Issues and checks planner-page session cookies.

    Parameters
    ----------
    secret : bytes
        HMAC key; sessions signed with another secret are refused.
    max_age_seconds : int
        Lifetime of a session.
    """

    def __init__(self, secret: bytes, max_age_seconds: int) -> None:
        self.secret = secret
        self.max_age_seconds = max_age_seconds

    @classmethod
    def from_settings(cls, settings: ServingSettings) -> Sessions:
        """``LINLI_SESSION_SECRET`` (or a random per-process secret) and ``LINLI_SESSION_HOURS``."""
        secret = (settings.session_secret.get_secret_value().encode("utf-8") if settings.session_secret
                  else secrets.token_bytes(32))
        return cls(secret, int(settings.session_hours * 3600))

    def issue(self, key_id: str, now: float | None = None) -> str:
        """A fresh session token for the key ``key_id`` (checked by the caller to be a valid key)."""
        expiry = int((time.time() if now is None else now) + self.max_age_seconds)
        payload = f"{expiry}.{key_id}.{secrets.token_hex(16)}"
        return f"{payload}.{self._sign(payload)}"

    def session(self, request: Request, now: float | None = None) -> Session | None:
        """The request's session when its cookie is genuine and unexpired (revocation is not checked here)."""
        parts = request.cookies.get(COOKIE, "").split(".")
        if len(parts) != 4 or not hmac.compare_digest(self._sign(".".join(parts[:3])), parts[3]):
            return None
        try:
            expiry = int(parts[0])
        except ValueError:
            return None
        if expiry < (time.time() if now is None else now) or not _SESSION_ID.fullmatch(parts[2]):
            return None
        return Session(parts[1], parts[2], expiry)

    def entry_of(self, request: Request, keys: KeyRing, now: float | None = None) -> KeyEntry | None:
        """The key of the request's session; ``None`` when absent, forged, expired, signed out or its key revoked.

        A store that cannot be reached counts as signed out (fail closed).
        """
        session = self.session(request, now)
        if session is None:
            return None
        try:
            if request.app.state.audit.is_revoked(session.session_id):
                return None
        except StoreUnavailableError as exc:
            logger.warning("session check refused, the store is unavailable: %s", exc)
            return None
        return keys.by_id(session.key_id)

    def set_cookie(self, response: Response, key_id: str, secure: bool) -> None:
        """Attach a fresh session for ``key_id`` to ``response`` (HttpOnly, SameSite=Strict, path ``/``)."""
        response.set_cookie(COOKIE, self.issue(key_id), max_age=self.max_age_seconds, httponly=True,
                            samesite="strict", secure=secure, path="/")

    @staticmethod
    def clear_cookie(response: Response) -> None:
        """End the browser's session."""
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()


__all__ = ["COOKIE", "Session", "Sessions"]
