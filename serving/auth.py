"""API keys and roles (ARCHITECTURE.md, Privacy): ``platform`` recommends and sends feedback, ``planner``
reads segment reports only, ``admin`` does everything, including model reloads.

Keys come from ``LINLI_API_KEYS`` (``role:key`` pairs separated by commas, kept in memory as salted digests)
and the file named by ``LINLI_API_KEYS_FILE`` (hashed keys only, see :mod:`serving.key_file`; re-read when it
changes, so keys rotate and are revoked without a restart). A request sends its key in the ``X-API-Key``
header. Every key is compared in constant time; keys are never logged or echoed, only their ids. Each key has
a rate limit by role, and each client address a budget of failed sign-ins (:mod:`serving.rate_limit`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from serving.key_file import ALGORITHM, KeyEntry, KeyFileError, KeyRing, key_digest, new_entry, read_file, write_file
from serving.planner.session import COOKIE
from serving.rate_limit import RateLimiter, retry_after
from serving.settings import ServingSettings

HEADER = "X-API-Key"
_scheme = APIKeyHeader(name=HEADER, auto_error=False, description="API key; its role decides what it may call.")


class Role(StrEnum):
    """What a key may do."""

    PLATFORM = "platform"
    PLANNER = "planner"
    ADMIN = "admin"


ROLES = frozenset(r.value for r in Role)


class ApiKeyConfigError(ValueError):
    """The configured API keys cannot be read (the message never contains a key)."""


def parse_keys(text: str, source: str = "LINLI_API_KEYS") -> list[KeyEntry]:
    """Entries for ``role:key`` pairs separated by commas or new lines (``#`` starts a comment line).

    Their ids are ``env1``, ``env2``, … in order; the digests use a per-process salt.
    """
    salt = secrets.token_bytes(16)
    entries: list[KeyEntry] = []
    lines = [part for line in text.splitlines() if not line.strip().startswith("#") for part in line.split(",")]
    for number, part in enumerate(lines, start=1):
        if not part.strip():
            continue
        role, sep, key = part.strip().partition(":")
        if not sep or not key.strip():
            raise ApiKeyConfigError(f"{source}, entry {number}: expected role:key (roles: "
                                    f"{', '.join(r.value for r in Role)})")
        if role.strip() not in ROLES:
            raise ApiKeyConfigError(f"{source}, entry {number}: unknown role {role.strip()!r}; use one of "
                                    f"{', '.join(r.value for r in Role)}")
        entries.append(KeyEntry(f"env{len(entries) + 1}", role.strip(), ALGORITHM, salt,
                                key_digest(key.strip(), salt, ALGORITHM)))
    return entries


def keys_from_settings(settings: ServingSettings) -> KeyRing:
    """The keys of ``LINLI_API_KEYS`` plus those of ``LINLI_API_KEYS_FILE`` (watched for changes).

    Raises
    ------
    ApiKeyConfigError
        If either cannot be read.
    """
    fixed = parse_keys(settings.api_keys.get_secret_value()) if settings.api_keys else []
    try:
        if settings.api_keys_file is not None:
            read_file(settings.api_keys_file, ROLES)
        return KeyRing(fixed, settings.api_keys_file, ROLES)
    except KeyFileError as exc:
        raise ApiKeyConfigError(str(exc)) from exc


def write_new_keys(path: Path) -> dict[str, str]:
    """Make a key per role and store their digests in a new key file at ``path`` (mode 600).

    Returns
    -------
    dict of str to str
        Role → key, to be shown once; nothing keeps them.

    Raises
    ------
    FileExistsError
        If ``path`` exists.
    """
    if path.exists():
        raise FileExistsError(f"{path} exists")
    made = {role.value: new_entry(role.value) for role in Role}
    write_file(path, [entry for entry, _ in made.values()])
    return {role: key for role, (_, key) in made.items()}


def client_address(request: Request) -> str:
    """The peer address of ``request`` (``unknown`` when the server does not know it)."""
    return request.client.host if request.client else "unknown"


def require(*roles: Role) -> Callable[..., Role]:
    """A dependency admitting keys of ``roles`` (admin always): 401 without a valid key, 403 for other roles,
    429 when the key's rate or the address's failed sign-ins are spent.

    The key's id and role are left on ``request.state`` (``key_id``, ``role``) for the audit log.
    """
    allowed = frozenset((*roles, Role.ADMIN))
    names = ", ".join(sorted(r.value for r in allowed))

    def check(request: Request, key: Annotated[str | None, Security(_scheme)]) -> Role:
        entry = identify(request, key)
        if entry is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                                f"missing API key: send it in the {HEADER} header" if not key
                                else f"unknown API key in the {HEADER} header", headers={"WWW-Authenticate": HEADER})
        role = Role(entry.role)
        if role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"the {role.value} role may not call this endpoint (allowed: {names})")
        limiter: RateLimiter = request.app.state.rate_limiter
        wait = limiter.take(entry.key_id, role.value)
        if wait:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                                f"rate limit of this {role.value} key reached; retry after Retry-After seconds",
                                headers={"Retry-After": retry_after(wait)})
        return role

    return check


def identify(request: Request, key: str | None) -> KeyEntry | None:
    """The key entry of ``key`` (or, without one, of the planner page's session cookie); ``None`` if neither is
    valid, which counts as a failed sign-in of the client's address. 429 once the address has spent its budget.
    """
    limiter: RateLimiter = request.app.state.rate_limiter
    address = client_address(request)
    wait = limiter.blocked(address)
    if wait:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed sign-ins from this address; "
                            "retry after Retry-After seconds", headers={"Retry-After": retry_after(wait)})
    ring: KeyRing = request.app.state.api_keys
    entry = ring.identify(key) if key else _session_entry(request, ring)
    if entry is None:
        if key or request.cookies.get(COOKIE):
            limiter.failed(address)
        return None
    request.state.key_id = entry.key_id
    request.state.role = entry.role
    return entry


def _session_entry(request: Request, ring: KeyRing) -> KeyEntry | None:
    """The key of the planner page's session cookie, for reads only (GET/HEAD); ``None`` without a valid one.

    The cookie (see :mod:`serving.planner.session`) is SameSite=Strict and HttpOnly; admitting it for reads
    only means a signed-in browser can never be made to change anything.
    """
    sessions = getattr(request.app.state, "sessions", None)
    if sessions is None or request.method not in ("GET", "HEAD"):
        return None
    return sessions.entry_of(request, ring)


__all__ = ["HEADER", "ROLES", "ApiKeyConfigError", "Role", "client_address", "identify", "keys_from_settings",
           "parse_keys", "require", "write_new_keys"]
