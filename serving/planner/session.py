"""Signed session cookies for the planner page, so a planner can sign in from an ordinary browser.

A cookie holds ``<expiry>.<sha256 of the key>.<HMAC-SHA256 of both>``: never the key itself. Each request
checks the signature and the expiry and then looks the key's digest up in the keys configured *now*, so a
removed key ends its sessions at once. The cookie is HttpOnly and SameSite=Strict, and :mod:`serving.auth`
admits it for reads (GET/HEAD) only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from fastapi import Request, Response

from serving.auth import ApiKeys, Role
from serving.settings import ServingSettings

COOKIE = "linli_session"


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

    def issue(self, key: str, now: float | None = None) -> str:
        """A session token for ``key`` (checked by the caller to be a valid key)."""
        expiry = int((time.time() if now is None else now) + self.max_age_seconds)
        payload = f"{expiry}.{hashlib.sha256(key.encode('utf-8')).hexdigest()}"
        return f"{payload}.{self._sign(payload)}"

    def role_of(self, request: Request, keys: ApiKeys, now: float | None = None) -> Role | None:
        """The role of the request's session cookie; ``None`` when absent, forged, expired or its key removed."""
        token = request.cookies.get(COOKIE, "")
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            return None
        try:
            expiry, digest = int(parts[0]), bytes.fromhex(parts[1])
        except ValueError:
            return None
        if expiry < (time.time() if now is None else now) or len(digest) != hashlib.sha256().digest_size:
            return None
        return keys.role_of_digest(digest)

    def set_cookie(self, response: Response, key: str, secure: bool) -> None:
        """Attach a fresh session for ``key`` to ``response`` (HttpOnly, SameSite=Strict, path ``/``)."""
        response.set_cookie(COOKIE, self.issue(key), max_age=self.max_age_seconds, httponly=True,
                            samesite="strict", secure=secure, path="/")

    @staticmethod
    def clear_cookie(response: Response) -> None:
        """End the browser's session."""
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()


__all__ = ["COOKIE", "Sessions"]
