"""The feedback store's privacy operations: sealed comments, erasure with its ledger, retention and re-keying.

Functions over a :class:`serving.store.FeedbackStore` (its engine and tables), kept apart from the store's
serving path. Every operation is one transaction: it happens whole or not at all.

Tables a later module adds to :class:`serving.store_schema.StoreTables` are covered without a change here:
erasure deletes every row of every table with a ``resident_id`` column (and rows tied by ``request_id`` to the
resident's served lists); retention purges the tables named in :data:`RETENTION_COLUMNS` (add yours there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import pandas as pd
import sqlalchemy as sa

from features.columns import Columns as C
from features.feedback_columns import ASKED_AT
from features.local_time import now_local
from privacy.encryption import Sm4Cipher, cipher, open_sealed_last
from privacy.ledger import COMMENT_SEALED, ERASED_AT, LEDGER_TABLE
from serving.feedback_models import RECEIVED_AT, REQUEST_ID, SERVED_AT
from serving.store_requests import reseal_request_texts

if TYPE_CHECKING:
    from serving.store import FeedbackStore

#: Table → the time column retention purges it by (rows tied to a purged served list go with it).
RETENTION_COLUMNS: Final[dict[str, str]] = {"served_lists": SERVED_AT, "feedback_events": RECEIVED_AT,
                                            "requests": ASKED_AT}


def seal_comments(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Event rows with their comment moved, SM4-encrypted, into ``comment_sm4`` (unchanged without a key)."""
    c = cipher()
    for row in rows:
        comment = row.get(C.COMMENT)
        row[COMMENT_SEALED] = None if c is None or comment is None else c.encrypt_text(str(comment))
        if row[COMMENT_SEALED] is not None:
            row[C.COMMENT] = None
    return rows


def open_comments(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows whose last field is ``comment_sm4``, without it, their comment decrypted in place.

    Raises
    ------
    privacy.encryption.DecryptionError, privacy.encryption.EncryptionKeyError
        A comment sealed under another key (or altered), or no key set.
    """
    from serving.store_schema import EVENT_COLUMNS

    return open_sealed_last(rows, EVENT_COLUMNS.index(C.COMMENT))



def erase(store: FeedbackStore, resident_id: str, *, when: datetime | None = None) -> dict[str, int]:
    """Delete every row about one resident (already pseudonymised) and record them in the erasure ledger.

    Returns
    -------
    dict
        Rows deleted per table (the ledger gains one row, or keeps the one it has).
    """
    tables = store._tables
    lists = tables.served_lists
    theirs = sa.select(lists.c[REQUEST_ID]).where(lists.c[C.RESIDENT] == resident_id)
    gone: dict[str, int] = {}
    with store._db.write("erasing a resident") as conn:
        for table in reversed(tables.metadata.sorted_tables):  # rows that refer to a list go before the list
            if table.name == LEDGER_TABLE:
                continue
            clauses = []
            if C.RESIDENT in table.c:
                clauses.append(table.c[C.RESIDENT] == resident_id)
            if REQUEST_ID in table.c and table is not lists:
                clauses.append(table.c[REQUEST_ID].in_(theirs))
            if clauses:
                gone[table.name] = conn.execute(sa.delete(table).where(sa.or_(*clauses))).rowcount
        ledger = tables.erased_residents
        known = conn.execute(sa.select(sa.func.count()).select_from(ledger).where(
            ledger.c[C.RESIDENT] == resident_id)).scalar_one()
        if not known:
            conn.execute(sa.insert(ledger), [{C.RESIDENT: resident_id, ERASED_AT: when or now_local()}])
    return gone


def erased(store: FeedbackStore) -> set[str]:
    """Pseudonyms in the erasure ledger (an empty set when the store has no ledger yet)."""
    ledger = store._tables.erased_residents
    with store._db.read("reading the erasure ledger") as conn:
        if not sa.inspect(conn).has_table(ledger.name, schema=ledger.schema):
            return set()
        return {str(r) for r in conn.execute(sa.select(ledger.c[C.RESIDENT])).scalars()}


def purge(store: FeedbackStore, cutoff: datetime) -> dict[str, int]:
    """Delete served lists and feedback (and rows of other :data:`RETENTION_COLUMNS` tables) dated before
    ``cutoff`` (local time), with every row tied to a purged list. Idempotent: a second run deletes nothing.

    Returns
    -------
    dict
        Rows deleted per table.
    """
    tables = store._tables
    by_name = {t.name: t for t in tables.metadata.sorted_tables}
    lists = tables.served_lists
    old_lists = sa.select(lists.c[REQUEST_ID]).where(lists.c[SERVED_AT] < cutoff)
    gone: dict[str, int] = {}
    with store._db.write("purging old served lists and feedback") as conn:
        for table in reversed(tables.metadata.sorted_tables):
            clauses = []
            if table.name in RETENTION_COLUMNS and table.name in by_name:
                clauses.append(table.c[RETENTION_COLUMNS[table.name]] < cutoff)
            if REQUEST_ID in table.c and table is not lists and table.name != LEDGER_TABLE \
                    and any(fk.column.table is lists for fk in table.foreign_keys):
                clauses.append(table.c[REQUEST_ID].in_(old_lists))
            if clauses:
                gone[table.name] = conn.execute(sa.delete(table).where(sa.or_(*clauses))).rowcount
    return gone


def rekey(store: FeedbackStore, ids: Mapping[str, str], old: Sm4Cipher | None,
          new: Sm4Cipher | None) -> dict[str, int]:
    """Move the store to new keys: ``resident_id`` old pseudonym → new in every table (the ledger too), and
    every sealed comment and request text decrypted with ``old`` and sealed with ``new`` (``None``: plain text).

    Returns
    -------
    dict
        Rows re-keyed per table, ``comments`` and ``request_texts`` re-encrypted.
    """
    tables = store._tables
    changes = [{"old_id": o, "new_id": n} for o, n in ids.items() if o != n]
    done: dict[str, int] = {}
    with store._db.write("re-keying the store") as conn:
        for table in tables.metadata.sorted_tables:
            if C.RESIDENT in table.c and changes:
                statement = (sa.update(table).where(table.c[C.RESIDENT] == sa.bindparam("old_id"))
                             .values({C.RESIDENT: sa.bindparam("new_id")}))
                done[table.name] = conn.execute(statement, changes).rowcount
        events = tables.feedback_events
        sealed = conn.execute(sa.select(events.c.id, events.c[C.COMMENT], events.c[COMMENT_SEALED]).where(
            events.c[COMMENT_SEALED].is_not(None) | events.c[C.COMMENT].is_not(None))).all()
        updates = [_reseal(row_id, plain, token, old, new) for row_id, plain, token in sealed]
        if updates:
            conn.execute(sa.update(events).where(events.c.id == sa.bindparam("row_id")).values(
                {C.COMMENT: sa.bindparam("plain"), COMMENT_SEALED: sa.bindparam("token")}), updates)
        done["comments"] = len(updates)
        done["request_texts"] = reseal_request_texts(conn, tables, old, new)
    return done


def _reseal(row_id: int, plain: str | None, token: str | None, old: Sm4Cipher | None,
            new: Sm4Cipher | None) -> dict[str, object]:
    text = plain if token is None else _opener(old)(token)
    if new is None:
        return {"row_id": row_id, "plain": text, "token": None}
    return {"row_id": row_id, "plain": None, "token": new.encrypt_text(str(text))}


def _opener(old: Sm4Cipher | None) -> Callable[[str], str]:
    if old is None:
        from privacy.encryption import EncryptionKeyError

        def refuse(token: str) -> str:
            raise EncryptionKeyError("the store holds SM4-encrypted comments: set LINLI_OLD_ENCRYPTION_KEY to "
                                     "the key they were sealed with")
        return refuse
    return old.decrypt_text


def events_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of the events query plus ``comment_sm4`` as :func:`serving.store_schema.typed_events` types them."""
    from serving.store_schema import typed_events

    return typed_events(open_comments(rows))
