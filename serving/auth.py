"""API keys and roles (ARCHITECTURE.md, Privacy): ``platform`` recommends and sends feedback, ``planner``
reads segment reports only, ``admin`` does everything, including model reloads.

Keys come from ``LINLI_API_KEYS`` (``role:key`` pairs separated by commas) and, optionally, the file
named by ``LINLI_API_KEYS_FILE`` (one ``role:key`` per line, ``#`` comments). A request sends its key in
the ``X-API-Key`` header. Keys are compared in constant time (SHA-256 digests with
:func:`hmac.compare_digest`, against every configured key) and never logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from serving.settings import ServingSettings

HEADER = "X-API-Key"
_scheme = APIKeyHeader(name=HEADER, auto_error=False, description="API key; its role decides what it may call.")


class Role(StrEnum):
    """What a key may do."""

    PLATFORM = "platform"
    PLANNER = "planner"
    ADMIN = "admin"


class ApiKeyConfigError(ValueError):
    """The configured API keys cannot be read (the message never contains a key)."""


@dataclass(frozen=True)
class ApiKeys:
    """Configured keys as SHA-256 digests with their roles."""

    entries: tuple[tuple[bytes, Role], ...]

    @classmethod
    def parse(cls, text: str, source: str = "LINLI_API_KEYS") -> ApiKeys:
        """Read ``role:key`` pairs separated by commas or new lines (``#`` starts a comment line)."""
        entries = []
        lines = [part for line in text.splitlines() if not line.strip().startswith("#") for part in line.split(",")]
        for number, part in enumerate(lines, start=1):
            if not part.strip():
                continue
            role, sep, key = part.strip().partition(":")
            if not sep or not key.strip():
                raise ApiKeyConfigError(f"{source}, entry {number}: expected role:key (roles: "
                                        f"{', '.join(r.value for r in Role)})")
            if role.strip() not in Role.__members__.values():
                raise ApiKeyConfigError(f"{source}, entry {number}: unknown role {role.strip()!r}; use one of "
                                        f"{', '.join(r.value for r in Role)}")
            entries.append((_digest(key.strip()), Role(role.strip())))
        return cls(tuple(entries))

    @classmethod
    def from_settings(cls, settings: ServingSettings) -> ApiKeys:
        """Keys of ``LINLI_API_KEYS`` plus those of ``LINLI_API_KEYS_FILE``."""
        keys = cls.parse(settings.api_keys.get_secret_value()) if settings.api_keys else cls(())
        if settings.api_keys_file is not None:
            try:
                text = Path(settings.api_keys_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ApiKeyConfigError(f"cannot read LINLI_API_KEYS_FILE {settings.api_keys_file}: "
                                        f"{exc.strerror}") from exc
            keys = cls(keys.entries + cls.parse(text, str(settings.api_keys_file)).entries)
        return keys

    def __len__(self) -> int:
        return len(self.entries)

    def role_of(self, key: str) -> Role | None:
        """The role of ``key``, or ``None``; every configured key is compared, in constant time."""
        return self.role_of_digest(_digest(key))

    def role_of_digest(self, digest: bytes) -> Role | None:
        """The role of the key whose SHA-256 digest is ``digest`` (a planner-page session holds only that)."""
        found: Role | None = None
        for known, role in self.entries:
            if hmac.compare_digest(digest, known) and found is None:
                found = role
        return found


def write_new_keys(path: Path) -> Path:
    """Write a fresh random key for every role to ``path`` (mode 600) and return it; for a first start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{role.value}:{secrets.token_urlsafe(24)}" for role in Role]
    with open(path, "x", encoding="utf-8", opener=_private_open) as handle:
        handle.write("# Linli API keys, one role:key per line (LINLI_API_KEYS_FILE)\n" + "\n".join(lines) + "\n")
    return path


def require(*roles: Role) -> Callable[..., Role]:
    """A dependency admitting keys of ``roles`` (admin always): 401 without a valid key, 403 for other roles."""
    allowed = frozenset((*roles, Role.ADMIN))
    names = ", ".join(sorted(r.value for r in allowed))

    def check(request: Request, key: Annotated[str | None, Security(_scheme)]) -> Role:
        keys: ApiKeys = request.app.state.api_keys
        if not key:
            role = _session_role(request, keys)
            if role is None:
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing API key: send it in the {HEADER} header",
                                    headers={"WWW-Authenticate": HEADER})
        else:
            role = keys.role_of(key)
        if role is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"unknown API key in the {HEADER} header",
                                headers={"WWW-Authenticate": HEADER})
        if role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"the {role.value} role may not call this endpoint (allowed: {names})")
        return role

    return check


def _session_role(request: Request, keys: ApiKeys) -> Role | None:
    """The role of the planner page's session cookie, for reads only (GET/HEAD); ``None`` without a valid one.

    The cookie (see :mod:`serving.planner.session`) is SameSite=Strict and HttpOnly; admitting it for reads
    only means a signed-in browser can never be made to change anything.
    """
    sessions = getattr(request.app.state, "sessions", None)
    if sessions is None or request.method not in ("GET", "HEAD"):
        return None
    return sessions.role_of(request, keys)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def _private_open(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


__all__ = ["HEADER", "ApiKeyConfigError", "ApiKeys", "Role", "require", "write_new_keys"]
