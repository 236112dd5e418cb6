"""Privacy settings, read from ``LINLI_*`` environment variables (or ``.env``), cached until the environment
changes, so the hot paths (every request, every loaded id) pay a dictionary look-up, not a settings parse."""

from __future__ import annotations

import os
import threading
from typing import Final

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_WATCHED: Final = ("LINLI_PSEUDONYM_KEY", "LINLI_ENCRYPTION_KEY", "LINLI_RETENTION_DAYS",
                   "LINLI_ERASURE_REFRESH_SECONDS")


class PrivacySettings(BaseSettings):
    """Keys and periods of the privacy mechanisms; every field can be set as ``LINLI_<FIELD>``.

    Attributes
    ----------
    pseudonym_key : SecretStr, optional
        HMAC-SM3 key turning external resident ids into pseudonyms where data enters Linli (loaders,
        ``linli generate``, the API). Unset: ids are kept as given (they must then be pseudonymous already).
    encryption_key : SecretStr, optional
        SM4 key (32 hex digits, e.g. from ``linli privacy keygen``) encrypting free text at rest (feedback
        comments, request texts). Unset: free text is stored in plain text.
    retention_days : int, optional
        Served lists and feedback older than this many days are purged by ``linli privacy purge``.
    erasure_refresh_seconds : float
        How often a server process re-reads the erasure ledger (erasures made by other processes reach it
        within this time; erasures made through a process reach that process at once).
    """

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore")

    pseudonym_key: SecretStr | None = None
    encryption_key: SecretStr | None = None
    retention_days: int | None = Field(None, ge=1)
    erasure_refresh_seconds: float = Field(1.0, ge=0, le=3600)


_lock = threading.Lock()
_cached: tuple[tuple[str | None, ...], PrivacySettings] | None = None


def privacy_settings() -> PrivacySettings:
    """The settings in force, re-read only when one of the ``LINLI_*`` privacy variables changed."""
    global _cached
    seen = tuple(os.environ.get(name) for name in _WATCHED)
    cached = _cached
    if cached is not None and cached[0] == seen:
        return cached[1]
    with _lock:
        _cached = (seen, PrivacySettings())
        return _cached[1]
