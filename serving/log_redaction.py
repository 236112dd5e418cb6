"""Secrets never reach a log: query parameters that look like keys are masked in uvicorn's access log, in audit
targets and (:func:`redact_text`) in every line the server's log formatters write (:mod:`serving.logging_json`).

A client may put its key in the URL (``?api_key=…``) even though Linli reads keys only from the
``X-API-Key`` header; the URL would then sit in every access log. :func:`redact_query` masks the value of
every parameter whose name holds ``key``, ``token``, ``secret``, ``password``, ``auth`` or ``session``;
:class:`AccessLogFilter` applies it to uvicorn's access-log records (installed by :func:`serving.app.create_app`).
"""

from __future__ import annotations

import logging
import re
from typing import Final
from urllib.parse import unquote_plus

#: Parameter names (case-insensitive, any part) whose values are masked.
SECRET_NAMES: Final = re.compile(r"key|token|secret|passw|auth|session|sig", re.IGNORECASE)
MASK: Final = "[redacted]"
#: ``name=value`` pairs in free text whose name looks secret (a URL's query, a form, ``key=…`` in a message).
_SECRET_PAIR: Final = re.compile(
    r"(?P<name>[\w.%-]*(?:key|token|secret|passw|auth|session|sig)[\w.%-]*)=(?P<value>[^&\s\"',;]+)", re.IGNORECASE)
#: An API key header written out (``X-API-Key: …``).
_KEY_HEADER: Final = re.compile(r"(?P<name>x-api-key[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s\"',;]+)", re.IGNORECASE)


def redact_query(query: str) -> str:
    """``query`` with the values of secret-looking parameters replaced by :data:`MASK`."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name = part.partition("=")[0]
        parts.append(f"{name}={MASK}" if SECRET_NAMES.search(unquote_plus(name)) else part)
    return "&".join(parts)


def redact_text(text: str) -> str:
    """``text`` with the value of every secret-looking ``name=value`` pair and ``X-API-Key`` header masked."""
    if "=" not in text and ":" not in text:
        return text
    text = _SECRET_PAIR.sub(lambda m: f"{m['name']}={MASK}", text)
    return _KEY_HEADER.sub(lambda m: f"{m['name']}{MASK}", text)


def redact_path(full_path: str) -> str:
    """A request target (``/path?query``) with its secret query values masked."""
    path, sep, query = full_path.partition("?")
    return f"{path}?{redact_query(query)}" if sep else path


class AccessLogFilter(logging.Filter):
    """Masks secret query values in uvicorn's access-log records (``args[2]`` is the path with its query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install_access_log_filter() -> None:
    """Add :class:`AccessLogFilter` to the ``uvicorn.access`` logger (once)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogFilter) for f in logger.filters):
        logger.addFilter(AccessLogFilter())


__all__ = ["MASK", "SECRET_NAMES", "AccessLogFilter", "install_access_log_filter", "redact_path", "redact_query",
           "redact_text"]
