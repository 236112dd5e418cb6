"""How the feedback store talks to its database: pooled connections, durable short transactions, and one
error (:class:`StoreUnavailableError`) for every way the database can be out of reach.

SQLite: WAL journal, ``synchronous=FULL`` (a commit is on disk before it returns), ``busy_timeout``, and write
transactions that take the lock up front (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing.
PostgreSQL: a connect timeout, a lock timeout, and a ping before reusing a pooled connection, so a restarted
server is reconnected to transparently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event as sa_event

#: Seconds to wait for SQLite's write lock, or for a PostgreSQL connection or lock, before giving up.
WAIT_SECONDS: Final = 10
_BEGIN: Final = "linli_begin"
_FILE: Final = "linli_sqlite_file"
_SYNC: Final = "linli_synchronous"
_UNDEFINED: Final = ("42P01", "3F000")  # PostgreSQL: undefined table, undefined schema


class StoreUnavailableError(RuntimeError):
    """The feedback database cannot be reached or written; nothing was stored. Retry later."""


class StoreEngine:
    """A pooled SQLAlchemy engine for SQLite (file) or PostgreSQL, safe to share between threads.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of a SQLite file or a PostgreSQL database.
    pool_size : int, default 5
        Connections kept open; up to twice as many more are opened under load.
    """

    def __init__(self, url: str, pool_size: int = 5) -> None:
        parsed = sa.make_url(url)
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{backend!r}: the feedback store runs on SQLite or PostgreSQL")
        self.sqlite = backend == "sqlite"
        if self.sqlite and parsed.database in (None, "", ":memory:"):
            raise ValueError(f"{url!r}: SQLite needs a file path, e.g. sqlite:///data/feedback.db")
        self.shown = parsed.render_as_string(hide_password=True)
        self.path = str(parsed.database)
        pool = {"pool_size": pool_size, "max_overflow": 2 * pool_size, "pool_timeout": WAIT_SECONDS}
        if self.sqlite:
            self.engine = sa.create_engine(parsed, connect_args={"timeout": WAIT_SECONDS}, **pool)
            sa_event.listen(self.engine, "connect", self._on_sqlite_connect)
            sa_event.listen(self.engine, "begin", _on_sqlite_begin)
        else:
            args: dict[str, Any] = {"connect_timeout": WAIT_SECONDS}
            if "options" not in parsed.query:
                args["options"] = f"-c lock_timeout={WAIT_SECONDS * 1000}"
            self.engine = sa.create_engine(parsed, connect_args=args, pool_pre_ping=True, **pool)

    def make_folder(self) -> None:
        """Create the folder of a SQLite database file (nothing to do for PostgreSQL)."""
        if self.sqlite:
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self.unavailable("creating the database folder", exc) from exc

    @contextmanager
    def read(self, action: str) -> Iterator[sa.Connection]:
        """A connection for reading; ``action`` names the work in error messages."""
        with self._unavailable_as_error(action), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self, action: str, *, durable: bool = True) -> Iterator[sa.Connection]:
        """One write transaction, committed when the block ends, rolled back if it raises.

        With ``durable`` (the default) the commit is on disk before the block returns. Without, it survives
        a crash of this process but may be lost with the machine (SQLite ``synchronous=NORMAL``, PostgreSQL
        ``synchronous_commit=off``); it is then made durable by the next durable commit.
        """
        with self._unavailable_as_error(action), self.engine.connect() as conn:
            conn.execution_options(**{_BEGIN: "BEGIN IMMEDIATE", _SYNC: "FULL" if durable else "NORMAL"})
            with conn.begin():
                if not durable and not self.sqlite:
                    conn.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
                yield conn
                self.check_file(conn)

    def check_file(self, conn: sa.Connection) -> None:
        """Refuse to go on if the SQLite file was deleted or replaced under an open connection.

        SQLite keeps writing into a deleted file's inode without error, so acknowledged events would be lost.
        """
        if not self.sqlite:
            return
        try:
            current: tuple[int, int] | None = _file_identity(self.path)
        except OSError:
            current = None
        if current is None or current != conn.connection.info.get(_FILE):
            self.engine.dispose()  # every pooled connection points at the lost file
            raise self.unavailable("writing", f"the database file {self.path} was removed or replaced")

    def unavailable(self, action: str, cause: object) -> StoreUnavailableError:
        """The error to raise when ``action`` failed because the database is out of reach."""
        return StoreUnavailableError(f"feedback store {self.shown} is unavailable while {action}: "
                                     f"{str(cause).strip()}. Nothing was stored; retry later.")

    def dispose(self) -> None:
        """Close every pooled connection; the engine reconnects if used again."""
        self.engine.dispose()

    @contextmanager
    def _unavailable_as_error(self, action: str) -> Iterator[None]:
        try:
            yield
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            raise self.unavailable(action, getattr(exc, "orig", None) or exc) from exc
        except sa.exc.ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) in _UNDEFINED:
                raise self.unavailable(action, f"{exc.orig} (run create_schema first)") from exc
            raise
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise self.unavailable(action, exc.orig) from exc
            raise

    def _on_sqlite_connect(self, dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_sqlite_begin)
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", f"busy_timeout={WAIT_SECONDS * 1000}",
                       "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        record.info[_SYNC] = "FULL"
        try:
            record.info[_FILE] = _file_identity(self.path)
        except OSError:
            record.info[_FILE] = None


def _on_sqlite_begin(conn: sa.Connection) -> None:
    options = conn.get_execution_options()
    synchronous = options.get(_SYNC, "FULL")  # reads restore FULL too: every commit is durable unless asked
    if conn.connection.info.get(_SYNC) != synchronous:
        conn.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
        conn.connection.info[_SYNC] = synchronous
    conn.exec_driver_sql(options.get(_BEGIN, "BEGIN"))


def _file_identity(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino
