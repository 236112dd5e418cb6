"""Access-log lines without raw resident ids: the id in ``/recommendations/{id}`` and ``/residents/{id}/...``
is replaced by its pseudonym before uvicorn writes the line."""

from __future__ import annotations

import logging
import re
from typing import Final
from urllib.parse import unquote

from privacy.pseudonym import pseudonymiser

_RESIDENT_PATH: Final = re.compile(r"(/(?:recommendations|residents)/)([^/?#\s]+)")
ACCESS_LOGGER: Final = "uvicorn.access"


class PseudonymisingFilter(logging.Filter):
    """Rewrites resident ids in the request path of access-log records (uvicorn's ``args[2]``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        p = pseudonymiser()
        args = record.args
        if p is None or not isinstance(args, tuple) or len(args) < 3 or not isinstance(args[2], str):
            return True
        path = _RESIDENT_PATH.sub(lambda m: m.group(1) + p.one(unquote(m.group(2))), args[2])
        record.args = (*args[:2], path, *args[3:])
        return True


def install(logger_name: str = ACCESS_LOGGER) -> None:
    """Add the filter to the access logger once (idempotent; a no-op in effect while no key is set)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, PseudonymisingFilter) for f in logger.filters):
        logger.addFilter(PseudonymisingFilter())
