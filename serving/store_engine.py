"""How the feedback store talks to its database: pooled connections, durable short transactions, and one
error (:class:`StoreUnavailableError`) for every way the database can be out of reach.

SQLite: WAL journal, ``synchronous=FULL`` (a commit is on disk before it returns), ``busy_timeout``, and write
transactions that take the lock up front (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing.
PostgreSQL: a connect timeout, a lock timeout, and a ping before reusing a pooled connection, so a restarted
server is reconnected to transparently.

A SQLite file is created only by :meth:`StoreEngine.prepare_file` (mode 600, its new folders 700), and never
where one existed: connections open it read-write without creating it, so a file moved away while serving
leaves the store unavailable (and its write-ahead log untouched) until the file is back, and the engine
reconnects by itself then.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event as sa_event

#: Seconds to wait for SQLite's write lock, or for a PostgreSQL connection or lock, before giving up.
WAIT_SECONDS: Final = 10
#: Milliseconds a readiness probe waits for the write lock before calling the store locked.
PROBE_MS: Final = 200
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
        self.known = False  # a SQLite file has been opened: it must never be created again
        self._identity: tuple[int, int] | None = None
        if self.sqlite:
            self.engine = sa.create_engine(parsed, creator=self._open_existing, **pool)
            sa_event.listen(self.engine, "connect", self._on_sqlite_connect)
            sa_event.listen(self.engine, "begin", _on_sqlite_begin)
        else:
            args: dict[str, Any] = {"connect_timeout": WAIT_SECONDS}
            if "options" not in parsed.query:
                args["options"] = f"-c lock_timeout={WAIT_SECONDS * 1000}"
            self.engine = sa.create_engine(parsed, connect_args=args, pool_pre_ping=True, **pool)

    def prepare_file(self) -> None:
        """Create a missing SQLite file (mode 600) and its missing folders (700); nothing to do for PostgreSQL.

        Raises
        ------
        StoreUnavailableError
            If the folder cannot be made, or the file is missing where a store existed: this engine opened it
            before, or its write-ahead log is still there (the file was moved away; put it back).
        """
        if not self.sqlite:
            return
        path = Path(self.path)
        try:
            _make_private_folders(path.parent)
        except OSError as exc:
            raise self.unavailable("creating the database folder", exc) from exc
        if path.exists():
            return
        if self.known:
            raise self.unavailable("opening", "the database file was moved or removed; put it back")
        if Path(f"{self.path}-wal").exists():
            raise self.unavailable("opening", "a write-ahead log is there without its database file; "
                                              "put the database back")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # another process created it just now
        except OSError as exc:
            raise self.unavailable("creating the database file", exc) from exc

    def creatable(self) -> bool:
        """Whether :meth:`prepare_file` would create a new SQLite file now (none was ever opened, none is there,
        no write-ahead log is left, and the folder is a folder or can be made)."""
        if not self.sqlite or self.known:
            return False
        path = Path(self.path)
        if path.exists() or Path(f"{self.path}-wal").exists():
            return False
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
        return folder.is_dir() and os.access(folder, os.W_OK)

    def probe_write(self, table: str) -> bool:
        """Whether a write could start now: the write lock is free within :data:`PROBE_MS` (nothing is written).

        ``table`` (schema-qualified) is the PostgreSQL table whose lock is tried; SQLite has one lock.

        Raises
        ------
        StoreUnavailableError
            If the database cannot be reached at all.
        """
        with self._unavailable_as_error("checking the write lock"), self.engine.connect() as conn:
            if self.sqlite:
                driver = conn.connection.driver_connection
                assert driver is not None  # a checked-out, valid connection always has its sqlite3 connection
                driver.execute(f"PRAGMA busy_timeout={PROBE_MS}")
                try:
                    driver.execute("BEGIN IMMEDIATE")
                    driver.execute("ROLLBACK")
                except sqlite3.OperationalError as exc:
                    if "locked" in str(exc) or "busy" in str(exc):
                        return False
                    raise self.unavailable("checking the write lock", exc) from exc
                finally:
                    driver.execute(f"PRAGMA busy_timeout={WAIT_SECONDS * 1000}")
                return True
            transaction = conn.begin()
            try:
                conn.execute(sa.text(f"SET LOCAL lock_timeout = {PROBE_MS}"))
                conn.execute(sa.text(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE"))
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                    return False
                raise
            except sa.exc.ProgrammingError as exc:
                if getattr(exc.orig, "sqlstate", None) in _UNDEFINED:
                    return True  # no tables yet: the first write creates them
                raise
            finally:
                transaction.rollback()
            return True

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
            raise self.unavailable("writing", "the database file was removed or replaced")

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
            if self.sqlite and self._file_changed():
                self.engine.dispose()  # reconnect to the file at the path once it is back
            raise self.unavailable(action, getattr(exc, "orig", None) or exc) from exc
        except sa.exc.ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) in _UNDEFINED:
                raise self.unavailable(action, f"{exc.orig} (run create_schema first)") from exc
            raise
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise self.unavailable(action, exc.orig) from exc
            raise

    def _open_existing(self) -> sqlite3.Connection:
        """A connection to the SQLite file, which must exist: SQLite would otherwise create an empty one, and
        reset the write-ahead log left by the file that was moved away."""
        uri = f"{Path(self.path).absolute().as_uri()}?mode=rw"
        return sqlite3.connect(uri, uri=True, timeout=WAIT_SECONDS, check_same_thread=False)

    def _file_changed(self) -> bool:
        try:
            return _file_identity(self.path) != self._identity
        except OSError:
            return True

    def _on_sqlite_connect(self, dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_sqlite_begin)
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", f"busy_timeout={WAIT_SECONDS * 1000}",
                       "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        record.info[_SYNC] = "FULL"
        self.known = True
        try:
            record.info[_FILE] = self._identity = _file_identity(self.path)
        except OSError:
            record.info[_FILE] = None


def _on_sqlite_begin(conn: sa.Connection) -> None:
    options = conn.get_execution_options()
    synchronous = options.get(_SYNC, "FULL")  # reads restore FULL too: every commit is durable unless asked
    if conn.connection.info.get(_SYNC) != synchronous:
        conn.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
        conn.connection.info[_SYNC] = synchronous
    conn.exec_driver_sql(options.get(_BEGIN, "BEGIN"))


def _make_private_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents with mode 700 (``mkdir -p`` gives parents the umask's mode)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder.name!r} is not a folder")
    for new in reversed(missing):
        new.mkdir(mode=0o700, exist_ok=True)


def _file_identity(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino
