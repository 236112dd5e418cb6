"""The audit log: an append-only table in the feedback store whose rows are chained with SM3.

Every row records who (the key's id, never the key, and its role), what (``action``, ``target``), when (UTC),
from where (the client address) and the answer code. Its ``hash`` is SM3 over its own fields and the
previous row's hash, so editing or deleting a row breaks the chain at that row, which :meth:`AuditLog.verify`
(``linli audit --verify``) reports. Rows are appended one writer at a time (SQLite's write lock, a
PostgreSQL advisory lock), in every server process and command alike. The table also keeps the sign-outs of
the planner page (``revoked_sessions``), so a signed-out cookie is refused by every process.

Actions in use: ``<METHOD> <route>`` for API calls, ``key.new``, ``key.rotate``, ``key.revoke``,
``key.import``, ``planner.login``, ``planner.logout``; erasure will record ``erasure`` with the pseudonym as
``target``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa

from serving.key_file import sm3_hex
from serving.store import FeedbackStore
from serving.store_engine import StoreEngine
from serving.store_schema import StoreTables

#: ``prev_hash`` of the first row.
GENESIS: Final = "0" * 64
#: Columns of an audit row, in order.
FIELDS: Final = ("seq", "at", "key_id", "role", "action", "target", "address", "status", "prev_hash", "hash")
_CHUNK: Final = 5000


def row_hash(row: dict[str, Any]) -> str:
    """SM3 over a row's fields (all but ``hash``) as canonical JSON."""
    payload = json.dumps([row[name] for name in FIELDS[:-1]], ensure_ascii=False, separators=(",", ":"))
    return sm3_hex(payload.encode("utf-8"))


def utc_text(moment: datetime | None = None) -> str:
    """``moment`` (default now) as the fixed-width UTC text the table stores, so text order is time order."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("give the time with its zone, e.g. 2026-12-01T08:00+08:00")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Verification:
    """What :meth:`AuditLog.verify` found: ``ok``, rows read, the last row's ``seq`` and ``hash``, and the
    first ``problem`` (``None`` when the chain holds)."""

    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    problem: str | None


class AuditLog:
    """Appends to, reads and verifies the audit table of a feedback store.

    Parameters
    ----------
    store : FeedbackStore
        The store whose database holds the table (created with the store's other tables).
    """

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store
        self._tables = StoreTables(store.schema)
        self._db: StoreEngine | None = None

    def _engine(self) -> StoreEngine:
        if self._db is None:
            self.store.create_schema()
            self._db = StoreEngine(self.store.url, pool_size=2)
        return self._db

    def append(self, action: str, *, key_id: str | None = None, role: str | None = None, target: str | None = None,
               address: str | None = None, status: int | None = None) -> int:
        """Append one row (committed to disk before returning) and return its ``seq``.

        Raises
        ------
        serving.store.StoreUnavailableError
            If the database cannot be reached; nothing was recorded.
        """
        table = self._tables.audit_log
        db = self._engine()
        with db.write("writing the audit log") as conn:
            if not db.sqlite:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7162)"))  # one appender at a time
            last = conn.execute(sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)).first()
            row: dict[str, Any] = {
                "seq": (last[0] + 1) if last else 1, "at": utc_text(), "key_id": key_id, "role": role,
                "action": action[:64], "target": None if target is None else target[:512],
                "address": None if address is None else address[:64], "status": status,
                "prev_hash": last[1] if last else GENESIS}
            row["hash"] = row_hash(row)
            conn.execute(table.insert().values(**row))
        return int(row["seq"])

    def rows(self, since: datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows at or after ``since`` (all without), oldest first, at most ``limit``."""
        table = self._tables.audit_log
        query = sa.select(*(table.c[name] for name in FIELDS)).order_by(table.c.seq)
        if since is not None:
            query = query.where(table.c.at >= utc_text(since))
        if limit is not None:
            query = query.limit(limit)
        with self._engine().read("reading the audit log") as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def _chunks(self) -> Iterator[list[dict[str, Any]]]:
        table = self._tables.audit_log
        after = 0
        with self._engine().read("verifying the audit log") as conn:
            while True:
                query = (sa.select(*(table.c[name] for name in FIELDS)).where(table.c.seq > after)
                         .order_by(table.c.seq).limit(_CHUNK))
                chunk = [dict(r._mapping) for r in conn.execute(query)]
                if not chunk:
                    return
                after = int(chunk[-1]["seq"])
                yield chunk

    def verify(self) -> Verification:
        """Recompute the chain; the first row whose hash, link or number is wrong is the ``problem``."""
        expected_seq, previous, rows = 1, GENESIS, 0
        for chunk in self._chunks():
            for row in chunk:
                seq = int(row["seq"])
                problem = None
                if seq != expected_seq:
                    problem = f"rows {expected_seq}–{seq - 1} are missing (deleted)"
                elif row["prev_hash"] != previous:
                    problem = f"row {seq} does not follow row {seq - 1} (a row was deleted or edited)"
                elif row_hash(row) != row["hash"]:
                    problem = f"row {seq} was edited after it was written (its hash does not match)"
                if problem:
                    return Verification(False, rows, expected_seq - 1, previous, problem)
                expected_seq, previous, rows = seq + 1, row["hash"], rows + 1
        return Verification(True, rows, expected_seq - 1, previous, None)

    def revoke_session(self, session_id: str, expires_at: int) -> None:
        """Record a signed-out session until it would have expired anyway (expired sign-outs are purged)."""
        table = self._tables.revoked_sessions
        with self._engine().write("recording a sign-out") as conn:
            conn.execute(table.delete().where(table.c.expires_at < int(time.time())))
            if conn.execute(sa.select(table.c.session_id).where(table.c.session_id == session_id)).first() is None:
                conn.execute(table.insert().values(session_id=session_id, expires_at=expires_at))

    def is_revoked(self, session_id: str) -> bool:
        """Whether the session ``session_id`` was signed out."""
        table = self._tables.revoked_sessions
        with self._engine().read("checking a session") as conn:
            found = conn.execute(sa.select(table.c.session_id).where(table.c.session_id == session_id)).first()
        return found is not None

    def close(self) -> None:
        """Close the connections."""
        if self._db is not None:
            self._db.dispose()


__all__ = ["FIELDS", "GENESIS", "AuditLog", "Verification", "row_hash", "utc_text"]
