"""A reload answered by one server process reaches every process: a generation counter in the feedback store.

``POST /models/reload`` lands on one of ``linli serve --workers N``'s processes. When its load succeeds, that
process bumps the counter (table ``serving_generation``: the generation and the alias reloaded, ``NULL`` for
"champion and challenger"). Every process runs a :class:`ReloadWatcher` thread that reads the counter every
``LINLI_RELOAD_CHECK_SECONDS`` (one indexed one-row read) and, when it moved, calls the same
:meth:`serving.model_holder.ModelHolder.load` / ``load_all`` the route called; each load swaps atomically, so
requests never see a half-loaded model. A load that fails in a process is logged and that process keeps serving
its old version (``linli_served_model_version`` per process in ``/metrics`` shows who serves what). A watcher
also keeps the served-version gauges of :mod:`serving.metrics` up to date.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa

from serving import metrics
from serving.model_holder import ModelHolder, ModelLoadError, ReloadInProgressError
from serving.store import FeedbackStore, StoreUnavailableError
from serving.store_engine import StoreEngine

logger = logging.getLogger(__name__)
_ROW: Final = "reload"


class ServingGeneration:
    """The reload counter in the feedback store's database.

    Parameters
    ----------
    store : FeedbackStore
        Its database holds the table (created on first use, next to the store's own tables).
    """

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store
        self.table = sa.Table(
            "serving_generation",
            sa.MetaData(schema=store.schema),
            sa.Column("name", sa.String(32), primary_key=True),
            sa.Column("generation", sa.BigInteger, nullable=False),
            sa.Column("alias", sa.String(128), nullable=True),
            sa.Column("changed_at", sa.String(40), nullable=False),
        )
        self._db: StoreEngine | None = None
        self._lock = threading.Lock()

    def _engine(self) -> StoreEngine:
        with self._lock:
            if self._db is None:
                self.store.create_schema()  # the file and schema exist before this engine opens them
                db = StoreEngine(self.store.url, pool_size=1)
                with db.write("creating the reload counter") as conn:
                    self.table.create(conn, checkfirst=True)
                self._db = db
            return self._db

    def read(self) -> tuple[int, str | None]:
        """The generation now (0 before the first reload) and the alias of the last reload.

        Raises
        ------
        serving.store.StoreUnavailableError
        """
        with self._engine().read("reading the reload counter") as conn:
            row = conn.execute(
                sa.select(self.table.c.generation, self.table.c.alias).where(self.table.c.name == _ROW)
            ).first()
        return (0, None) if row is None else (int(row[0]), row[1])

    def bump(self, alias: str | None) -> int:
        """Record a reload of ``alias`` (``None``: champion and challenger); returns the new generation.

        Raises
        ------
        serving.store.StoreUnavailableError
        """
        table = self.table
        with self._engine().write("recording a reload") as conn:
            row = conn.execute(sa.select(table.c.generation).where(table.c.name == _ROW)).first()
            generation = 1 if row is None else int(row[0]) + 1
            values = {"generation": generation, "alias": alias, "changed_at": datetime.now(UTC).isoformat()}
            if row is None:
                conn.execute(table.insert().values(name=_ROW, **values))
            else:
                conn.execute(table.update().where(table.c.name == _ROW).values(**values))
        return generation

    def close(self) -> None:
        """Close the connection."""
        if self._db is not None:
            self._db.dispose()


class ReloadWatcher:
    """Follows :class:`ServingGeneration` in a daemon thread and reloads ``holder`` when it moves.

    Parameters
    ----------
    holder : ModelHolder
    generation : ServingGeneration
    interval : float
        Seconds between two reads of the counter.
    """

    def __init__(self, holder: ModelHolder, generation: ServingGeneration, interval: float) -> None:
        self.holder, self.generation, self.interval = holder, generation, interval
        self.seen: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Note the generation in force now (the start-up load serves it) and start following it."""
        try:
            self.seen = self.generation.read()[0]
        except StoreUnavailableError as exc:
            logger.warning("reload counter unreadable at start (retried every %.1f s): %s", self.interval, exc)
        self._thread = threading.Thread(target=self._run, name="linli-reload-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following (at shutdown)."""
        self._stop.set()

    def reloaded_here(self, alias: str | None) -> None:
        """Record a reload this process made (``POST /models/reload``) so the others follow it."""
        self.seen = self.generation.bump(alias)

    def check(self) -> bool:
        """Read the counter once and reload if another process reloaded; whether a reload ran."""
        metrics.observe_serving(self.holder)
        generation, alias = self.generation.read()
        if self.seen is None:
            self.seen = generation
            return False
        if generation == self.seen or self.holder.loading:
            return False  # a load running now (start-up or a reload) is checked against the counter when done
        try:
            self.holder.load(alias) if alias else self.holder.load_all()
        except ReloadInProgressError:
            return False  # this process is loading already; the next check looks again
        except ModelLoadError as exc:
            logger.error(
                "reload %d (alias %s) made by another process failed here; the old version keeps serving: %s",
                generation,
                alias or "champion",
                exc,
            )
        self.seen = generation
        metrics.observe_serving(self.holder)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except StoreUnavailableError as exc:
                logger.debug("reload counter unreadable: %s", exc)
            except Exception:  # the watcher must outlive any one failure
                logger.exception("reload watcher failed; retrying")


__all__ = ["ReloadWatcher", "ServingGeneration"]
