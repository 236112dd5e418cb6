"""Group commit: concurrent requests share one durable write instead of queueing for one each, and a request
waits on that write at most a bounded time.

Every served list is logged before its response leaves (an event referring to it must find it). With one
SQLite transaction and one disk flush per request, concurrent requests queue behind each other's flushes, and
the flush, not the model, bounds throughput. :class:`GroupCommit` hands everything queued so far to one writer
thread, which writes it in one transaction (one flush); each caller returns once its own items are on disk.

A store that another process holds locked would make every caller wait for the database's lock timeout (10 s).
With ``wait_seconds`` a caller waits at most that long: past it, its items stay queued and are written as soon
as the lock frees (the caller is told ``"queued"``); once a write has been stuck longer than the bound, new
callers do not wait at all. A backlog past ``max_pending`` items is refused (``"refused"``: served unlogged).

If a shared write fails, each request's items are written again on their own, so one bad list cannot cost
the others their log; each request then sees only its own outcome. Items whose caller had left and whose write
failed are counted as lost (:attr:`LogHealth.lost`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
Outcome = Literal["written", "queued", "refused"]
logger = logging.getLogger(__name__)


@dataclass
class _Ticket(Generic[T]):
    items: list[T]
    write: Callable[[list[T]], None]
    done: bool = False
    left: bool = False  # the caller stopped waiting
    error: BaseException | None = None


@dataclass(frozen=True)
class LogHealth:
    """The state of the log: ``stalled`` while a write has taken longer than the wait bound; counts since start.

    Attributes
    ----------
    stalled : bool
    pending : int
        Items queued or being written now.
    queued, lost, refused : int
        Items answered before they were written; of those, items whose write then failed; items refused
        because the backlog was full.
    """

    stalled: bool
    pending: int
    queued: int
    lost: int
    refused: int


class GroupCommit(Generic[T]):
    """Batches concurrent writes on one writer thread; thread-safe, one instance per store.

    Parameters
    ----------
    wait_seconds : float, optional
        Longest a caller waits for its items to be written; ``None`` waits as long as the write takes.
    max_pending : int, default 10000
        Items queued (or being written) past which new items are refused.
    """

    def __init__(self, wait_seconds: float | None = None, max_pending: int = 10_000) -> None:
        self.wait_seconds = wait_seconds
        self.max_pending = max_pending
        self._condition = threading.Condition()
        self._queue: list[_Ticket[T]] = []
        self._pending = 0
        self._write_started: float | None = None
        self._writer: threading.Thread | None = None
        self._queued = self._lost = self._refused = 0

    def submit(self, items: list[T], write: Callable[[list[T]], None]) -> Outcome:
        """Write ``items`` (with whatever else is queued); return once they are written or the wait is over.

        Parameters
        ----------
        items : list
        write : callable
            Writes a list of items in one transaction; the same store behind every caller.

        Returns
        -------
        str
            ``"written"``; ``"queued"`` (the wait bound passed, they are written when the store allows); or
            ``"refused"`` (the backlog is full; they are not written).

        Raises
        ------
        Exception
            Whatever ``write`` raised for these items, if it failed within the wait.
        """
        ticket = _Ticket(items, write)
        with self._condition:
            if self._pending + len(items) > self.max_pending:
                self._refused += len(items)
                return "refused"
            self._queue.append(ticket)
            self._pending += len(items)
            self._start_writer()
            self._condition.notify_all()
            deadline = None if self.wait_seconds is None else time.monotonic() + self.wait_seconds
            while not ticket.done:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and (left <= 0 or self._stalled()):
                    ticket.left = True
                    self._queued += len(items)
                    return "queued"
                self._condition.wait(left)
        if ticket.error is not None:
            raise ticket.error
        return "written"

    def health(self) -> LogHealth:
        """The log's state now."""
        with self._condition:
            return LogHealth(self._stalled(), self._pending, self._queued, self._lost, self._refused)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or being written (or ``timeout`` seconds); whether that was reached."""
        with self._condition:
            return self._condition.wait_for(lambda: self._pending == 0, timeout)

    def _stalled(self) -> bool:
        return (self.wait_seconds is not None and self._write_started is not None
                and time.monotonic() - self._write_started > self.wait_seconds)

    def _start_writer(self) -> None:
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(target=self._run, name="linli-served-log", daemon=True)
            self._writer.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: bool(self._queue))
                batch, self._queue = self._queue, []
                self._write_started = time.monotonic()
            self._write(batch)
            with self._condition:
                for ticket in batch:
                    ticket.done = True
                    self._pending -= len(ticket.items)
                    if ticket.left and ticket.error is not None:
                        self._lost += len(ticket.items)
                        logger.warning("%d queued item(s) of the served-list log were not written: %s",
                                       len(ticket.items), ticket.error)
                self._write_started = None
                self._condition.notify_all()

    @staticmethod
    def _write(batch: list[_Ticket[T]]) -> None:
        try:
            batch[0].write([item for ticket in batch for item in ticket.items])
        except BaseException as exc:  # handed to each waiting caller and re-raised there
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for ticket in batch:  # alone, so one caller's bad items do not fail the others
                    try:
                        ticket.write(ticket.items)
                    except BaseException as own:
                        ticket.error = own


__all__ = ["GroupCommit", "LogHealth", "Outcome"]
