"""Records API calls in the audit log (:mod:`serving.audit`) before they are answered.

Recorded: every request answered to a planner or admin key (reads, reloads, the audit log itself) and every
request a key's role was refused (403). The row holds the key's id and role (set on ``request.state`` by
:func:`serving.auth.identify`), the route, the path and query (secret-looking values masked), the client
address and the answer code. The answer waits for its row: if the audit log cannot be written, the client
gets 503 instead of the data, so nothing is read unrecorded. ``LINLI_AUDIT_ENABLED=false`` turns it off.
"""

from __future__ import annotations

import json
import logging
from typing import Final

from anyio import to_thread

from privacy.log_filter import pseudonymise_path
from serving.audit import AuditLog
from serving.errors import ASGIApp, Message, Receive, Scope, Send
from serving.log_redaction import redact_query
from serving.store import StoreUnavailableError

logger = logging.getLogger(__name__)
AUDITED_ROLES: Final = frozenset({"planner", "admin"})


def audited(role: object, status: int) -> bool:
    """Whether an answer with ``status`` to a key of ``role`` is recorded."""
    return role in AUDITED_ROLES or status == 403


class AuditMiddleware:
    """A plain ASGI middleware appending one audit row per audited request, before its answer leaves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state_ = scope["app"].state
        audit: AuditLog | None = state_.audit if state_.settings.audit_enabled else None
        refused = False

        async def send_audited(message: Message) -> None:
            nonlocal refused
            if refused:
                return
            if audit is not None and message["type"] == "http.response.start":
                state = scope.get("state", {})
                status = int(message["status"])
                if audited(state.get("role"), status):
                    try:
                        await to_thread.run_sync(lambda: _record(audit, scope, state, status))
                    except StoreUnavailableError as exc:
                        logger.error("audit log unavailable, answering 503 instead of %s: %s", status, exc)
                        refused = True
                        await _unavailable(send, state.get("request_id", ""))
                        return
            await send(message)

        await self.app(scope, receive, send_audited)


def _record(audit: AuditLog, scope: Scope, state: dict[str, object], status: int) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None) or scope.get("path", "")
    query = scope.get("query_string", b"").decode("latin-1")
    target = pseudonymise_path(scope.get("path", "")) + (f"?{redact_query(query)}" if query else "")
    client = scope.get("client")
    audit.append(f"{scope.get('method', '')} {template}", key_id=_text(state.get("key_id")),
                 role=_text(state.get("role")), target=target, address=client[0] if client else None, status=status)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


async def _unavailable(send: Send, request_id: object) -> None:
    body = json.dumps({"detail": "the audit log is unavailable, so nothing is answered; retry later",
                       "request_id": str(request_id)}).encode("utf-8")
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", b"5"),
                            (b"content-length", str(len(body)).encode("ascii"))]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


__all__ = ["AUDITED_ROLES", "AuditMiddleware", "audited"]
