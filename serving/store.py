"""The durable feedback store: served lists and feedback events in SQL (SQLite by default, PostgreSQL by URL).

Every write is one short transaction that is committed — on disk — before the method returns, so an
acknowledged event survives a crash. SQLite runs in WAL mode with ``synchronous=FULL`` and takes the write
lock up front (``BEGIN IMMEDIATE``); PostgreSQL commits durably by default. A database that cannot be
reached raises :class:`StoreUnavailableError` and leaves nothing half-written.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Final, Literal

import pandas as pd
import sqlalchemy as sa

from features.columns import Columns as C
from features.local_time import now_local
from privacy.ledger import COMMENT_SEALED
from serving.feedback_models import (
    RECEIVED_AT,
    REQUEST_ID,
    SERVED_AT,
    FeedbackEvent,
    ServedList,
    StoredRequest,
    to_local,
)
from serving.store_engine import StoreEngine, StoreUnavailableError
from serving.store_privacy import erase, events_frame, seal_comments
from serving.store_requests import (
    ANONYMOUS_RESIDENT,
    offered_query,
    open_request_texts,
    read_residents,
    requests_query,
    seal_request_text,
    stored_residents,
)
from serving.store_schema import StoreTables, typed_requests, typed_served

__all__ = ["DuplicateRequestError", "EventRejectedError", "FeedbackStore", "InvalidFeedbackError",
           "StoreUnavailableError", "UnknownRequestError"]

_CHUNK: Final = 500  # ids per IN (...) clause


class UnknownRequestError(KeyError):
    """A feedback event names a ``request_id`` that was never served to its resident.

    Attributes
    ----------
    index : int
        Position of the first offending event in the batch.
    request_id : str
        Its request id.
    """

    def __init__(self, index: int, request_id: str, reason: str) -> None:
        self.index = index
        self.request_id = request_id
        super().__init__(f"event {index}: request_id {request_id!r} {reason}; send feedback only for request ids "
                         "returned by GET /recommendations to that resident. Nothing in this batch was stored.")

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


class EventRejectedError(ValueError):
    """A feedback event's field is out of bounds (a timestamp, a service); nothing in the batch was stored.

    Attributes
    ----------
    index : int
        Position of the first offending event in the batch.
    field : str
        The field at fault.
    """

    def __init__(self, index: int, field: str, message: str) -> None:
        self.index = index
        self.field = field
        super().__init__(message)


class DuplicateRequestError(ValueError):
    """A served list with this ``request_id`` is already logged; request ids must be unique."""


class InvalidFeedbackError(ValueError):
    """The database refused a row (a constraint failed); nothing in the batch was stored."""


class FeedbackStore:
    """Served lists and feedback events in one SQL database, safe to share between threads.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/feedback.db`` (a file; WAL, ``synchronous=FULL``) or
        ``postgresql+psycopg://user@host:5432/db``.
    schema : str, optional
        PostgreSQL schema holding the tables (created by :meth:`create_schema`); default the search path.
    pool_size : int, default 5
        Connections kept open; up to twice as many more are opened under load.

    Examples
    --------
    >>> store = FeedbackStore("sqlite:///data/feedback.db")
    >>> store.create_schema()
    >>> store.log_served(ServedList(request_id="r1", resident_id="R1", model_version="3", items=[]))
    >>> store.add_events([FeedbackEvent(request_id="r1", resident_id="R1", service_id="S1", event="click")])
    1
    """

    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = 5) -> None:
        self.url = url
        self.schema = schema
        self._db = StoreEngine(url, pool_size)
        if self._db.sqlite and schema:
            raise ValueError("a schema is for PostgreSQL; give SQLite its own file instead")
        self._tables = StoreTables(schema)

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_schema(self) -> None:
        """Create the tables and indexes if they do not exist (idempotent, safe to run from several processes).

        For SQLite the database file (mode 600) and its folders (700) are created too, but never where a store
        existed: if this store opened the file before, or its write-ahead log is still there, the file was
        moved away and :class:`StoreUnavailableError` asks for it back.
        """
        self._db.prepare_file()
        with self._db.write("creating the feedback tables") as conn:
            if not self._db.sqlite:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7160)"))  # one creator at a time
                if self.schema:
                    conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
            self._tables.metadata.create_all(conn, checkfirst=True)
            self._add_missing_columns(conn)

    def _add_missing_columns(self, conn: sa.Connection) -> None:
        """Bring a store made by an older Linli up to date: add nullable columns it lacks (rows are kept)."""
        inspector = sa.inspect(conn)
        for table in self._tables.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name, schema=self.schema)}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    kind = column.type.compile(dialect=conn.dialect)
                    name = f"{self.schema}.{table.name}" if self.schema else table.name
                    conn.execute(sa.text(f"ALTER TABLE {name} ADD COLUMN {column.name} {kind}"))

    def log_served(self, served: ServedList, *, durable: bool = True) -> None:
        """Store one served list and its items; committed before returning.

        Parameters
        ----------
        served : ServedList
            The list as served.
        durable : bool, default True
            Wait for the disk. With ``False`` the list survives a crash of the serving process but not of the
            machine, and costs no disk flush (a few milliseconds on a busy disk); feedback always waits.

        Raises
        ------
        DuplicateRequestError
            If its ``request_id`` was logged before.
        StoreUnavailableError
            If the database cannot be written.
        """
        self.log_served_many([served], durable=durable)

    def log_served_many(self, served: list[ServedList], *, durable: bool = True) -> None:
        """Store several served lists (e.g. one batch request) in one transaction; see :meth:`log_served`."""
        if not served:
            return
        lists = stored_residents([s.model_dump(exclude={"items"}) for s in served])
        items = [{REQUEST_ID: s.request_id, **item.model_dump()} for s in served for item in s.items]
        try:
            with self._db.write("logging served lists", durable=durable) as conn:
                conn.execute(sa.insert(self._tables.served_lists), lists)
                if items:
                    conn.execute(sa.insert(self._tables.served_items), items)
        except sa.exc.IntegrityError as exc:
            ids = ", ".join(repr(s.request_id) for s in served[:5])
            raise DuplicateRequestError(f"a served list with request_id in {ids} is already logged; "
                                        "generate a fresh request id per response") from exc

    def log_request(self, stored: StoredRequest, offered: ServedList | None = None) -> None:
        """Store one free-text request (its text already redacted) and, for a known resident, the services offered
        as a served list (variant ``request``) so feedback with its ``request_id`` joins; one durable transaction.

        Raises
        ------
        DuplicateRequestError
            If its ``request_id`` was stored before.
        StoreUnavailableError
            If the database cannot be written.
        """
        row = seal_request_text(stored.model_dump())  # SM4-encrypted when LINLI_ENCRYPTION_KEY is set
        for name in ("intents", "offered", "unmet"):
            row[name] = json.dumps(row[name], ensure_ascii=False)
        try:
            with self._db.write("storing a request") as conn:
                conn.execute(sa.insert(self._tables.requests), [row])
                if offered is not None:
                    conn.execute(sa.insert(self._tables.served_lists),
                                 stored_residents([offered.model_dump(exclude={"items"})]))
                    items = [{REQUEST_ID: offered.request_id, **item.model_dump()} for item in offered.items]
                    if items:
                        conn.execute(sa.insert(self._tables.served_items), items)
        except sa.exc.IntegrityError as exc:
            raise DuplicateRequestError(f"a request with request_id {stored.request_id!r} is already stored") from exc

    def requests(self, since: datetime | str | None = None) -> pd.DataFrame:
        """Stored requests in arrival order (``intents``, ``offered`` and ``unmet`` as Python lists).

        Parameters
        ----------
        since : datetime or str, optional
            Only requests that arrived at or after this time (Asia/Shanghai; aware values are converted).

        Returns
        -------
        pandas.DataFrame
            Columns of :data:`serving.store_schema.REQUEST_COLUMNS`; empty for a store made before requests existed.
        """
        query = requests_query(self._tables)  # the sealed text last, decrypted below
        if since is not None:
            query = query.where(self._tables.requests.c["asked_at"] >= _local(since))
        with self._db.read("reading requests") as conn:
            if not sa.inspect(conn).has_table(self._tables.requests.name, schema=self.schema):
                return typed_requests([])  # a store made before requests existed (create_schema adds the table)
            return typed_requests(open_request_texts(conn.execute(query).all()))

    def add_events(self, events: list[FeedbackEvent], *, skew: timedelta | None = None,
                   services: Collection[str] | None = None) -> int:
        """Validate and store a batch of feedback events, all or nothing, committed before returning.

        An event identical to one already stored, or to an earlier one of the batch (same request, service,
        event, timestamp, rating, channel and comment), is not stored again: a retried batch stores nothing
        twice. An event without a timestamp is dated when it is received (once for the whole batch).

        Parameters
        ----------
        events : list of FeedbackEvent
            The batch; every ``request_id`` must be a served list of the event's resident.
        skew : timedelta, optional
            Bound the timestamps: none later than now + ``skew``, none earlier than the moment its list was
            served - ``skew``. Default: unbounded (the API always bounds them).
        services : collection of str, optional
            Services known beyond those the event's list showed (the serving catalogue): an event on a
            service in neither is refused. Default: not checked.

        Returns
        -------
        int
            Rows stored: ``len(events)`` less the duplicates.

        Raises
        ------
        UnknownRequestError
            Naming the first event whose request id was never served to its resident.
        EventRejectedError
            Naming the first event with a timestamp or service out of bounds.
        StoreUnavailableError
            If the database cannot be written; nothing of the batch is stored.
        """
        if not events:
            return 0
        received = now_local()
        rows = stored_residents([{**e.model_dump(), RECEIVED_AT: received} for e in events])
        for event, row in zip(events, rows, strict=True):
            if C.TIMESTAMP not in event.model_fields_set:
                row[C.TIMESTAMP] = received
        try:
            with self._db.write("storing feedback") as conn:
                served_at = self._check_requests(conn, events)
                if skew is not None:
                    _check_times(rows, served_at, received + skew, skew)
                if services is not None:
                    self._check_services(conn, rows, services)
                rows = self._new_rows(conn, seal_comments(rows))
                if rows:
                    conn.execute(sa.insert(self._tables.feedback_events), rows)
        except sa.exc.IntegrityError as exc:
            raise InvalidFeedbackError(f"the database refused this batch, nothing was stored: {exc.orig}") from exc
        return len(rows)

    def count_events(self) -> int:
        """Number of feedback events stored."""
        with self._db.read("counting feedback") as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self._tables.feedback_events)).scalar_one())

    def count_served(self) -> int:
        """Number of served lists logged (including lists served empty)."""
        with self._db.read("counting served lists") as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self._tables.served_lists)).scalar_one())

    def counts_per_version(self) -> tuple[dict[str, int], dict[str, int]]:
        """Lists served with at least one item, and feedback events, per model version (all time).

        Counted by the database, so the cost does not grow with what the caller has to hold: one row per
        version comes back however many lists were served.

        Returns
        -------
        lists, events : dict of str to int
            Model version → count; versions with none are absent.
        """
        with self._db.read("counting lists and feedback per model version") as conn:
            lists = {str(v): int(n) for v, n in conn.execute(self._tables.lists_per_version_query())}
            events = {str(v): int(n) for v, n in conn.execute(self._tables.events_per_version_query())}
        return lists, events

    def events(self, since: datetime | str | None = None) -> pd.DataFrame:
        """Feedback events as an interactions table, joined with the model that served them.

        Parameters
        ----------
        since : datetime or str, optional
            Only events received at or after this time (Asia/Shanghai; aware values are converted).

        Returns
        -------
        pandas.DataFrame
            The interactions contract columns (resident_id, service_id, timestamp, event, rating, channel,
            comment; typed as :meth:`features.Dataset.from_frames` types them) plus request_id, model_version,
            variant and received_at, in arrival order. Pass it as ``interactions`` to ``Dataset.from_frames``.
            Feedback on an anonymous request's offered services has no ``resident_id`` (``<NA>``).
        """
        events = self._tables.feedback_events
        query = self._tables.events_query().add_columns(events.c[COMMENT_SEALED])  # decrypted below
        if since is not None:
            query = query.where(events.c[RECEIVED_AT] >= _local(since))
        with self._db.read("reading feedback") as conn:
            return read_residents(events_frame(conn.execute(query).all()))

    def served(self, since: datetime | str | None = None) -> pd.DataFrame:
        """Served lists, one row per served item (lists served empty have no row).

        Parameters
        ----------
        since : datetime or str, optional
            Only lists served at or after this time (Asia/Shanghai; aware values are converted).

        Returns
        -------
        pandas.DataFrame
            request_id, resident_id, model_version, variant, served_at, position, service_id, score,
            propensity (NaN when the list was logged without one).
        """
        query = self._tables.served_query()
        if since is not None:
            query = query.where(self._tables.served_lists.c[SERVED_AT] >= _local(since))
        with self._db.read("reading served lists") as conn:
            return typed_served(conn.execute(query).all())

    def offered(self, since: datetime | str | None = None) -> pd.DataFrame:
        """The services offered in answer to free-text requests, one row per offered service: the served-list
        columns of :meth:`served` (``resident_id`` missing for an anonymous request). With :meth:`events` it gives
        the request answers' own metrics (e.g. ``training.online_metrics.label_impressions``), which
        :meth:`served` leaves out of the recommender's.
        """
        query = offered_query(self._tables)
        if since is not None:
            query = query.where(self._tables.served_lists.c[SERVED_AT] >= _local(since))
        with self._db.read("reading the services offered to requests") as conn:
            return read_residents(typed_served(conn.execute(query).all()))

    def ping(self) -> bool:
        """Whether the database answers (and, for SQLite, its file is still in place)."""
        try:
            with self._db.read("checking the database") as conn:
                conn.execute(sa.select(1))
                self._db.check_file(conn)
        except StoreUnavailableError:
            return False
        return True

    def state(self) -> Literal["ok", "unavailable", "locked"]:
        """``ok``; ``unavailable`` (the database does not answer, or its SQLite file is gone); or ``locked``:
        it answers, but another writer has held the write lock longer than a short probe (nothing is written).
        A SQLite store not created yet is ``ok`` when its file can be created."""
        if self._db.creatable():
            return "ok"
        if not self.ping():
            return "unavailable"
        lists = self._tables.served_lists
        table = f"{lists.schema}.{lists.name}" if lists.schema else lists.name
        try:
            return "ok" if self._db.probe_write(table) else "locked"
        except StoreUnavailableError:
            return "unavailable"

    def erase_resident(self, resident_id: str) -> dict[str, int]:
        """Delete every row about one (pseudonymised) resident and record them in the erasure ledger.

        Their served lists, the items in them, their feedback and the rows of any other table about them go;
        see :func:`serving.store_privacy.erase`.

        Returns
        -------
        dict
            Rows deleted per table (``served_lists``, ``served_items``, ``feedback_events``, ``requests``, ...).
        """
        return erase(self, resident_id)

    def close(self) -> None:
        """Close every pooled connection. The store reconnects if used again."""
        self._db.dispose()

    def _check_requests(self, conn: sa.Connection, events: list[FeedbackEvent]) -> dict[str, datetime]:
        """Check every event's list was served to its resident; return when each list was served.

        On PostgreSQL the lists' rows stay locked until the commit, so concurrent batches on one list are
        checked for duplicates one after the other.
        """
        lists = self._tables.served_lists
        wanted = sorted({e.request_id for e in events})
        owner: dict[str, str] = {}
        served_at: dict[str, datetime] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            query = sa.select(lists.c[REQUEST_ID], lists.c[C.RESIDENT], lists.c[SERVED_AT]).where(
                lists.c[REQUEST_ID].in_(chunk))
            for request_id, resident_id, moment in conn.execute(query if self._db.sqlite else query.with_for_update()):
                owner[request_id] = resident_id
                served_at[request_id] = moment
        for index, e in enumerate(events):
            if e.request_id not in owner:
                raise UnknownRequestError(index, e.request_id, "was never served (or its resident was erased)")
            if owner[e.request_id] != (e.resident_id or ANONYMOUS_RESIDENT):
                raise UnknownRequestError(index, e.request_id, _not_theirs(owner[e.request_id], e.resident_id))
        return served_at

    def _check_services(self, conn: sa.Connection, rows: list[dict[str, object]], services: Collection[str]) -> None:
        """Refuse an event on a service that its list did not show and ``services`` does not hold."""
        strangers = [(i, row) for i, row in enumerate(rows) if row[C.SERVICE] not in services]
        if not strangers:
            return
        items = self._tables.served_items
        wanted = sorted({str(row[REQUEST_ID]) for _, row in strangers})
        shown: set[tuple[str, str]] = set()
        for start in range(0, len(wanted), _CHUNK):
            query = sa.select(items.c[REQUEST_ID], items.c[C.SERVICE]).where(
                items.c[REQUEST_ID].in_(wanted[start:start + _CHUNK]))
            shown.update((str(r), str(s)) for r, s in conn.execute(query))
        for index, row in strangers:
            if (row[REQUEST_ID], row[C.SERVICE]) not in shown:
                raise EventRejectedError(index, C.SERVICE, f"event {index}: service_id {row[C.SERVICE]!r} was "
                                         "neither shown in its list nor is in the catalogue")

    def _new_rows(self, conn: sa.Connection, rows: list[dict[str, object]]) -> list[dict[str, object]]:
        """``rows`` less those already stored or repeated: the same request, service, event and timestamp, and
        the same rating, channel and comment (events that differ in any field are all kept)."""
        events = self._tables.feedback_events
        columns = (REQUEST_ID, C.SERVICE, C.EVENT, C.TIMESTAMP, C.RATING, C.CHANNEL, C.COMMENT, COMMENT_SEALED)
        wanted = sorted({str(row[REQUEST_ID]) for row in rows})
        seen: set[tuple[object, ...]] = set()
        for start in range(0, len(wanted), _CHUNK):
            query = sa.select(*(events.c[c] for c in columns)).where(
                events.c[REQUEST_ID].in_(wanted[start:start + _CHUNK]))
            seen.update(tuple(found) for found in conn.execute(query))
        fresh = []
        for row in rows:
            key = tuple(row[c] for c in columns)
            if key not in seen:
                seen.add(key)
                fresh.append(row)
        return fresh


def _check_times(rows: list[dict[str, object]], served_at: dict[str, datetime], latest: datetime,
                 skew: timedelta) -> None:
    """Refuse a timestamp after ``latest`` or before its list was served (less ``skew``)."""
    for index, row in enumerate(rows):
        moment = row[C.TIMESTAMP]
        assert isinstance(moment, datetime)
        if moment > latest:
            raise EventRejectedError(index, C.TIMESTAMP, f"event {index}: timestamp {moment:%Y-%m-%d %H:%M:%S} is "
                                     f"after the server's clock ({latest - skew:%Y-%m-%d %H:%M:%S}, Asia/Shanghai); "
                                     "send when the event happened, in local time or with its offset")
        served = served_at[str(row[REQUEST_ID])]
        if moment < served - skew:
            raise EventRejectedError(index, C.TIMESTAMP, f"event {index}: timestamp {moment:%Y-%m-%d %H:%M:%S} is "
                                     f"before its list was served ({served:%Y-%m-%d %H:%M:%S}, Asia/Shanghai)")


def _local(moment: datetime | str) -> datetime:
    return to_local(pd.Timestamp(moment).to_pydatetime())



def _not_theirs(owner: str, sender: str | None) -> str:
    """Why an event's resident does not match its list's (an anonymous request's list has no resident)."""
    if owner == ANONYMOUS_RESIDENT:
        return f"answered an anonymous request: send its feedback without resident_id (got {sender!r})"
    if sender is None:
        return "was served to a resident: send their resident_id"
    return f"was not served to resident {sender!r}"
