"""Structured logs: one JSON object per line, carrying the request id, and never a secret.

Every record the server writes (its own loggers, uvicorn's error log and its access log) becomes a line such as::

    {"ts": "2026-12-04T21:10:00.123Z", "level": "INFO", "logger": "uvicorn.access", "pid": 4242,
     "request_id": "9f…", "message": "127.0.0.1:50412 - \\"GET /recommendations/R0000001?k=5 HTTP/1.1\\" 200",
     "client": "127.0.0.1:50412", "method": "GET", "path": "/recommendations/R0000001?k=5", "status": 200}

The request id is the client's ``X-Request-ID`` when it sent a safe one (see :mod:`serving.errors`), else a fresh
one; the answer carries it back in ``X-Request-ID``, and every line logged while answering holds it (a context
variable set by :class:`serving.errors.RequestIdMiddleware`). Secrets never reach a line: query values whose names
look secret (:mod:`serving.log_redaction`) are masked in the access log's path, and the formatter masks them once
more in every message. ``linli serve`` logs this way unless ``LINLI_LOG_JSON=false`` (plain text, as uvicorn's).
"""

from __future__ import annotations

import json
import logging
import os
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

from serving.log_redaction import AccessLogFilter, redact_text

#: The id of the request being answered (empty outside a request).
REQUEST_ID: ContextVar[str] = ContextVar("linli_request_id", default="")
_ACCESS_FIELDS: Final = ("client", "method", "path", "http_version", "status")


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``record.request_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time (UTC), level, logger, process id, request id, message (secrets masked),
    the access log's fields, and the exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "request_id": getattr(record, "request_id", "") or REQUEST_ID.get(),
            "message": redact_text(record.getMessage()),
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == len(_ACCESS_FIELDS):
            line.update(
                {
                    name: redact_text(value) if isinstance(value, str) else value
                    for name, value in zip(_ACCESS_FIELDS, args, strict=True)
                }
            )
        if record.exc_info:
            line["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Plain text with the request id and secrets masked (``LINLI_LOG_JSON=false``)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def log_config(json_lines: bool, level: str = "INFO") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for uvicorn's ``log_config``: every logger of the server to stderr,
    as JSON lines or as text, with the request id and secret masking on every record."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if json_lines
        else {"()": TextFormatter, "fmt": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "main",
        "stream": "ext://sys.stderr",
        "filters": ["request_id", "access"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}, "access": {"()": AccessLogFilter}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "uvicorn": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["main"], "level": level, "propagate": False},
        },
        "root": {"handlers": ["main"], "level": level},
    }


def configure(json_lines: bool, level: str | None = None) -> None:
    """Apply :func:`log_config` to this process (``linli serve``'s supervisor; workers get it from uvicorn)."""
    import logging.config

    logging.config.dictConfig(log_config(json_lines, level or os.environ.get("LINLI_LOG_LEVEL", "INFO")))


__all__ = ["REQUEST_ID", "JsonFormatter", "RequestIdFilter", "TextFormatter", "configure", "log_config"]
