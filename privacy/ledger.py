"""The erasure ledger: pseudonyms of erased residents (PIPL art. 47), kept in the feedback store's database.

It holds no raw id (only what :func:`privacy.pseudonym.pseudonymise` stored) and is never purged by retention:
it is what keeps an erased resident out of every later ``linli train`` while the source still holds them.
Tables and queries only; the store operations live in :mod:`serving.store_privacy`.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from features.schema import MAX_ID_LENGTH

LEDGER_TABLE: Final = "erased_residents"
#: Column of ``feedback_events`` holding an SM4-encrypted comment (``comment`` is then empty).
COMMENT_SEALED: Final = "comment_sm4"
ERASED_AT: Final = "erased_at"


def ledger_table(metadata: sa.MetaData) -> sa.Table:
    """The ledger in ``metadata``: ``resident_id`` (primary key) and ``erased_at``."""
    return sa.Table(
        LEDGER_TABLE, metadata,
        sa.Column("resident_id", sa.String(MAX_ID_LENGTH), primary_key=True),
        sa.Column(ERASED_AT, sa.DateTime, nullable=False),
    )


def sealed_comment_column() -> sa.Column[str]:
    """The nullable ``comment_sm4`` column (added to stores made before it by ``create_schema``)."""
    return sa.Column(COMMENT_SEALED, sa.Text, nullable=True)


#: Column of ``requests`` holding the SM4-encrypted redacted text (``text_redacted`` is then empty).
REQUEST_TEXT_SEALED: Final = "text_sm4"


def sealed_request_text_column() -> sa.Column[str]:
    """The nullable ``text_sm4`` column of ``requests`` (added to stores made before it by ``create_schema``)."""
    return sa.Column(REQUEST_TEXT_SEALED, sa.Text, nullable=True)
