"""Tables of the feedback store, the queries that read them back, and the typing of what they return.

Tables: ``served_lists`` (one row per response of the recommendation API), ``served_items`` (the
services in it, by position), ``feedback_events`` (what residents did, tied to a served list) and ``requests``
(residents' free-text requests, redacted, with what was understood and offered). Indexes serve the joins of the
online monitor: events by request, by arrival time and by resident. Lists offered in answer to a request carry
the variant :data:`REQUEST_VARIANT`; the recommender's online metrics (:meth:`StoreTables.served_query`, the counts
per version) leave them out. ``audit_log`` and ``revoked_sessions`` belong to :mod:`serving.audit` and
:mod:`serving.planner.session`; the erasure ledger to :mod:`privacy.ledger`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa

from features.columns import Columns as C
from features.columns import Vocab
from features.feedback_columns import (
    ASKED_AT,
    COMPLAINT,
    INTENTS,
    OFFERED,
    REDACTED_TEXT,
    REQUEST_CHANNEL,
    REQUEST_VARIANT,
    TOP_CATEGORY,
    UNMET,
)
from privacy.ledger import ledger_table, sealed_comment_column, sealed_request_text_column
from recommenders.base import SCORE
from serving.feedback_models import (
    MAX_COMMENT,
    MAX_ID,
    MODEL_VERSION,
    POSITION,
    PROPENSITY,
    RECEIVED_AT,
    REQUEST_ID,
    SERVED_AT,
    VARIANT,
)

#: Columns of :meth:`FeedbackStore.events`, in order: the interactions contract, then where the event came from.
EVENT_COLUMNS: Final = (C.RESIDENT, C.SERVICE, C.TIMESTAMP, C.EVENT, C.RATING, C.CHANNEL, C.COMMENT,
                        REQUEST_ID, MODEL_VERSION, VARIANT, RECEIVED_AT)
#: Columns of :meth:`FeedbackStore.served`, in order.
SERVED_COLUMNS: Final = (REQUEST_ID, C.RESIDENT, MODEL_VERSION, VARIANT, SERVED_AT, POSITION, C.SERVICE, SCORE,
                         PROPENSITY)
#: Columns of :meth:`FeedbackStore.requests`, in order.
REQUEST_COLUMNS: Final = (REQUEST_ID, C.RESIDENT, C.COMMUNITY, REQUEST_CHANNEL, ASKED_AT, MODEL_VERSION, REDACTED_TEXT,
                          TOP_CATEGORY, INTENTS, OFFERED, COMPLAINT, UNMET)
#: Longest stored request text (redaction placeholders may lengthen a 500-character text a little).
MAX_REQUEST_TEXT: Final = 2000

_ID = sa.String(MAX_ID)
_RATE: Final = "rate"


def _one_of(column: str, values: Sequence[str]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class StoreTables:
    """The store's tables, in one :class:`sqlalchemy.MetaData` under an optional PostgreSQL schema."""

    audit_log: sa.Table
    revoked_sessions: sa.Table

    def __init__(self, schema: str | None = None) -> None:
        self.metadata = sa.MetaData(schema=schema)
        self.served_lists = sa.Table(
            "served_lists", self.metadata,
            sa.Column(REQUEST_ID, _ID, primary_key=True),
            sa.Column(C.RESIDENT, _ID, nullable=False),
            sa.Column(MODEL_VERSION, _ID, nullable=False),
            sa.Column(VARIANT, _ID, nullable=False),
            sa.Column(SERVED_AT, sa.DateTime, nullable=False),
            sa.Index("ix_served_lists_resident", C.RESIDENT),
            sa.Index("ix_served_lists_served_at", SERVED_AT),
        )
        lists_key = f"{schema}.served_lists.{REQUEST_ID}" if schema else f"served_lists.{REQUEST_ID}"
        self.served_items = sa.Table(
            "served_items", self.metadata,
            sa.Column(REQUEST_ID, _ID, sa.ForeignKey(lists_key), primary_key=True),
            sa.Column(POSITION, sa.Integer, primary_key=True, autoincrement=False),
            sa.Column(C.SERVICE, _ID, nullable=False),
            sa.Column(SCORE, sa.Float, nullable=False),
            sa.Column(PROPENSITY, sa.Float, nullable=True),
        )
        self.feedback_events = sa.Table(
            "feedback_events", self.metadata,
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
            sa.Column(REQUEST_ID, _ID, sa.ForeignKey(lists_key), nullable=False),
            sa.Column(C.RESIDENT, _ID, nullable=False),
            sa.Column(C.SERVICE, _ID, nullable=False),
            sa.Column(C.EVENT, sa.String(16), nullable=False),
            sa.Column(C.TIMESTAMP, sa.DateTime, nullable=False),
            sa.Column(C.RATING, sa.Float, nullable=True),
            sa.Column(C.CHANNEL, sa.String(16), nullable=True),
            sa.Column(C.COMMENT, sa.String(MAX_COMMENT), nullable=True),
            sealed_comment_column(),  # the comment, SM4-encrypted (privacy.encryption)
            sa.Column(RECEIVED_AT, sa.DateTime, nullable=False),
            sa.CheckConstraint(_one_of(C.EVENT, Vocab.EVENTS), name="ck_feedback_event"),
            sa.CheckConstraint(f"{C.CHANNEL} IS NULL OR {_one_of(C.CHANNEL, Vocab.EVENT_CHANNEL)}",
                               name="ck_feedback_channel"),
            sa.CheckConstraint(f"({C.EVENT} = '{_RATE}' AND {C.RATING} BETWEEN 1 AND 5) "
                               f"OR ({C.EVENT} <> '{_RATE}' AND {C.RATING} IS NULL)", name="ck_feedback_rating"),
            sa.Index("ix_feedback_request", REQUEST_ID),
            sa.Index("ix_feedback_received_at", RECEIVED_AT),
            sa.Index("ix_feedback_resident", C.RESIDENT),
        )
        self.erased_residents = ledger_table(self.metadata)  # the erasure ledger (privacy.ledger)
        add_security_tables(self)
        self.requests = sa.Table(
            "requests", self.metadata,
            sa.Column(REQUEST_ID, _ID, primary_key=True),
            sa.Column(C.RESIDENT, _ID, nullable=True),
            sa.Column(C.COMMUNITY, _ID, nullable=True),
            sa.Column(REQUEST_CHANNEL, sa.String(16), nullable=True),
            sa.Column(ASKED_AT, sa.DateTime, nullable=False),
            sa.Column(MODEL_VERSION, _ID, nullable=False),
            sa.Column(REDACTED_TEXT, sa.String(MAX_REQUEST_TEXT), nullable=False),
            sa.Column(TOP_CATEGORY, sa.String(32), nullable=True),
            sa.Column(INTENTS, sa.Text, nullable=False),
            sa.Column(OFFERED, sa.Text, nullable=False),
            sa.Column(COMPLAINT, sa.String(32), nullable=True),
            sa.Column(UNMET, sa.Text, nullable=False),
            sealed_request_text_column(),  # the redacted text, SM4-encrypted (serving.store_requests)
            sa.Index("ix_requests_asked_at", ASKED_AT),
            sa.Index("ix_requests_resident", C.RESIDENT),
        )

    def events_query(self) -> sa.Select[Any]:
        """Feedback events joined with their served list, columns as :data:`EVENT_COLUMNS`, in arrival order."""
        events, lists = self.feedback_events, self.served_lists
        columns = [events.c[name] if name in events.c else lists.c[name] for name in EVENT_COLUMNS]
        return sa.select(*columns).join_from(events, lists).order_by(events.c.id)

    def lists_per_version_query(self) -> sa.Select[Any]:
        """``(model_version, lists)``: lists served with at least one item, per model version, counted in the
        database."""
        lists, items = self.served_lists, self.served_items
        has_items = sa.exists().where(items.c[REQUEST_ID] == lists.c[REQUEST_ID])
        return (sa.select(lists.c[MODEL_VERSION], sa.func.count()).where(has_items, self._recommended())
                .group_by(lists.c[MODEL_VERSION]))

    def events_per_version_query(self) -> sa.Select[Any]:
        """``(model_version, events)``: feedback events per model version of the list they answer."""
        events, lists = self.feedback_events, self.served_lists
        return (sa.select(lists.c[MODEL_VERSION], sa.func.count()).join_from(events, lists)
                .where(self._recommended()).group_by(lists.c[MODEL_VERSION]))

    def served_query(self) -> sa.Select[Any]:
        """Items of the recommender's served lists joined with their list, columns as :data:`SERVED_COLUMNS`, in
        serving order (lists offered in answer to a free-text request are in :meth:`requests_query`)."""
        lists, items = self.served_lists, self.served_items
        columns = [lists.c[name] if name in lists.c else items.c[name] for name in SERVED_COLUMNS]
        return (sa.select(*columns).join_from(lists, items).where(self._recommended())
                .order_by(lists.c[SERVED_AT], lists.c[REQUEST_ID], items.c[POSITION]))

    def requests_query(self) -> sa.Select[Any]:
        """Stored requests, columns as :data:`REQUEST_COLUMNS`, in arrival order."""
        return sa.select(*(self.requests.c[name] for name in REQUEST_COLUMNS)).order_by(
            self.requests.c[ASKED_AT], self.requests.c[REQUEST_ID])

    def _recommended(self) -> sa.ColumnElement[bool]:
        """Lists the recommender served (not those answering a free-text request)."""
        return self.served_lists.c[VARIANT] != REQUEST_VARIANT


def add_security_tables(tables: StoreTables) -> None:
    """Add ``audit_log`` (append-only, SM3 hash chain; see :mod:`serving.audit`) and ``revoked_sessions``
    (planner-page sign-outs, seen by every server process) to ``tables``."""
    tables.audit_log = sa.Table(
        "audit_log", tables.metadata,
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(512), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Index("ix_audit_at", "at"),
    )
    tables.revoked_sessions = sa.Table(
        "revoked_sessions", tables.metadata,
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )


def typed_events(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of :meth:`StoreTables.events_query` as a frame typed like a validated interactions table."""
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(EVENT_COLUMNS))
    for name in (C.RESIDENT, C.SERVICE, C.COMMENT, REQUEST_ID, MODEL_VERSION, VARIANT):
        frame[name] = frame[name].astype("string")
    for name in (C.TIMESTAMP, RECEIVED_AT):
        frame[name] = pd.to_datetime(frame[name]).astype("datetime64[ns]")
    frame[C.EVENT] = pd.Categorical(frame[C.EVENT], categories=list(Vocab.EVENTS))
    frame[C.CHANNEL] = pd.Categorical(frame[C.CHANNEL], categories=list(Vocab.EVENT_CHANNEL))
    frame[C.RATING] = pd.to_numeric(frame[C.RATING]).astype("float64")
    return frame


def typed_requests(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of :meth:`StoreTables.requests_query` as a frame; the JSON columns decoded to Python lists."""
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(REQUEST_COLUMNS))
    for name in (REQUEST_ID, C.RESIDENT, C.COMMUNITY, REQUEST_CHANNEL, MODEL_VERSION, REDACTED_TEXT, TOP_CATEGORY,
                 COMPLAINT):
        frame[name] = frame[name].astype("string")
    frame[ASKED_AT] = pd.to_datetime(frame[ASKED_AT]).astype("datetime64[ns]")
    for name in (INTENTS, OFFERED, UNMET):
        frame[name] = [json.loads(v) for v in frame[name]]
    return frame


def typed_served(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of :meth:`StoreTables.served_query` as a typed frame."""
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(SERVED_COLUMNS))
    for name in (REQUEST_ID, C.RESIDENT, MODEL_VERSION, VARIANT, C.SERVICE):
        frame[name] = frame[name].astype("string")
    frame[SERVED_AT] = pd.to_datetime(frame[SERVED_AT]).astype("datetime64[ns]")
    frame[POSITION] = frame[POSITION].astype("int64")
    frame[SCORE] = frame[SCORE].astype("float64")
    frame[PROPENSITY] = pd.to_numeric(frame[PROPENSITY]).astype("float64")
    return frame
