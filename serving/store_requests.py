"""The requests parts of the feedback store: texts SM4-sealed at rest, and anonymous requests' offered lists.

A request's text is stored after redaction (:func:`understanding.redaction.redact`). With
``LINLI_ENCRYPTION_KEY`` set it is also encrypted, exactly as feedback comments are (one cipher,
:mod:`privacy.encryption`): the token goes to ``text_sm4`` and ``text_redacted`` is left empty. Text stored
before a key was set stays readable; a token sealed under another key, or altered, is a
:class:`privacy.encryption.DecryptionError` naming the key ids, never garbage.

**Anonymous requests.** The services offered to a request without a resident are logged as a served list too, so
``POST /feedback`` with its ``request_id`` works. Such a list and its feedback belong to no resident: the
``resident_id`` columns (``NOT NULL`` since the first store) hold :data:`ANONYMOUS_RESIDENT`, an empty string no
real id can be (ids have at least one character), and read back as missing. Erasure never matches them; training
drops them (no resident to learn about); the request-answer metrics (:meth:`FeedbackStore.offered`) count them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa

from features.columns import Columns as C
from features.feedback_columns import POSITION, REDACTED_TEXT, REQUEST_ID, REQUEST_VARIANT, SERVED_AT, VARIANT
from privacy.encryption import EncryptionKeyError, Sm4Cipher, cipher, open_sealed_last
from privacy.ledger import REQUEST_TEXT_SEALED
from serving.store_schema import REQUEST_COLUMNS, SERVED_COLUMNS, StoreTables

#: ``resident_id`` stored for the offered list of an anonymous request and the feedback on it.
ANONYMOUS_RESIDENT: Final = ""


def stored_residents(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Served-list or event rows with a missing resident (an anonymous request's) as :data:`ANONYMOUS_RESIDENT`."""
    for row in rows:
        if row.get(C.RESIDENT) is None:
            row[C.RESIDENT] = ANONYMOUS_RESIDENT
    return rows


def read_residents(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :data:`ANONYMOUS_RESIDENT` read back as missing (``<NA>``)."""
    if C.RESIDENT in frame and len(frame):
        frame[C.RESIDENT] = frame[C.RESIDENT].mask(frame[C.RESIDENT] == ANONYMOUS_RESIDENT)
    return frame


def offered_query(tables: StoreTables) -> sa.Select[Any]:
    """Items of the lists offered in answer to free-text requests (variant ``request``, anonymous ones too),
    columns as :data:`serving.store_schema.SERVED_COLUMNS`, in serving order."""
    lists, items = tables.served_lists, tables.served_items
    columns = [lists.c[name] if name in lists.c else items.c[name] for name in SERVED_COLUMNS]
    return (sa.select(*columns).join_from(lists, items).where(lists.c[VARIANT] == REQUEST_VARIANT)
            .order_by(lists.c[SERVED_AT], lists.c[REQUEST_ID], items.c[POSITION]))


def seal_request_text(row: dict[str, object]) -> dict[str, object]:
    """A ``requests`` row with its redacted text moved, SM4-encrypted, into ``text_sm4`` (unchanged without a
    key)."""
    c = cipher()
    text = row.get(REDACTED_TEXT)
    row[REQUEST_TEXT_SEALED] = None if c is None or text is None else c.encrypt_text(str(text))
    if row[REQUEST_TEXT_SEALED] is not None:
        row[REDACTED_TEXT] = ""
    return row


def requests_query(tables: StoreTables) -> sa.Select[Any]:
    """The stored requests (:data:`REQUEST_COLUMNS`) plus ``text_sm4`` last, for :func:`open_request_texts`."""
    return tables.requests_query().add_columns(tables.requests.c[REQUEST_TEXT_SEALED])


def open_request_texts(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows of :func:`requests_query` without their last field, the sealed text decrypted into ``text_redacted``.

    Raises
    ------
    privacy.encryption.DecryptionError, privacy.encryption.EncryptionKeyError
        A text sealed under another key (or altered), or sealed text while no key is set.
    """
    return open_sealed_last(rows, REQUEST_COLUMNS.index(REDACTED_TEXT))


def reseal_request_texts(conn: sa.Connection, tables: StoreTables, old: Sm4Cipher | None,
                         new: Sm4Cipher | None) -> int:
    """Re-encrypt every request text from key ``old`` to key ``new`` (``None``: plain text) in ``conn``'s
    transaction; returns how many rows were rewritten.

    Raises
    ------
    privacy.encryption.EncryptionKeyError
        Sealed texts are met while ``old`` is ``None``.
    privacy.encryption.DecryptionError
        A text was sealed under a key other than ``old``.
    """
    requests = tables.requests
    if not sa.inspect(conn).has_table(requests.name, schema=requests.schema):
        return 0
    key = requests.c[REQUEST_ID]
    rows = conn.execute(sa.select(key, requests.c[REDACTED_TEXT], requests.c[REQUEST_TEXT_SEALED])).all()
    opener = _opener(old)
    updates = []
    for request_id, plain, token in rows:
        text = plain if token is None else opener(token)
        sealed = None if new is None else new.encrypt_text(str(text))
        updates.append({"row_key": request_id, "plain": text if sealed is None else "", "token": sealed})
    if updates:
        conn.execute(sa.update(requests).where(key == sa.bindparam("row_key")).values(
            {REDACTED_TEXT: sa.bindparam("plain"), REQUEST_TEXT_SEALED: sa.bindparam("token")}), updates)
    return len(updates)


def _opener(old: Sm4Cipher | None) -> Callable[[str], str]:
    if old is not None:
        return old.decrypt_text

    def refuse(token: str) -> str:
        raise EncryptionKeyError("the store holds SM4-encrypted request texts: set LINLI_OLD_ENCRYPTION_KEY to "
                                 "the key they were sealed with")
    return refuse


__all__ = ["ANONYMOUS_RESIDENT", "offered_query", "open_request_texts", "read_residents", "requests_query",
           "reseal_request_texts", "seal_request_text", "stored_residents"]
