"""Request paths without raw resident ids: the id in ``/recommendations/{id}`` and ``/residents/{id}/...`` is
replaced by its pseudonym before uvicorn writes its access-log line or the audit log records the call."""

from __future__ import annotations

import logging
import re
from typing import Final
from urllib.parse import unquote

from privacy.pseudonym import pseudonymiser

_RESIDENT_PATH: Final = re.compile(r"(/(?:recommendations|residents)/)([^/?#\s]+)")
ACCESS_LOGGER: Final = "uvicorn.access"


def pseudonymise_path(path: str) -> str:
    """``path`` with the resident id after ``/recommendations/`` or ``/residents/`` replaced by its pseudonym
    (unchanged while no key is set); for every record of a request path: access log, audit log."""
    p = pseudonymiser()
    if p is None:
        return path
    return _RESIDENT_PATH.sub(lambda m: m.group(1) + p.one(unquote(m.group(2))), path)


class PseudonymisingFilter(logging.Filter):
    """Rewrites resident ids in the request path of access-log records (uvicorn's ``args[2]``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], pseudonymise_path(args[2]), *args[3:])
        return True


def install(logger_name: str = ACCESS_LOGGER) -> None:
    """Add the filter to the access logger once (idempotent; a no-op in effect while no key is set)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, PseudonymisingFilter) for f in logger.filters):
        logger.addFilter(PseudonymisingFilter())
