"""Group commit: concurrent requests share one durable write instead of queueing for one each.

Every served list is logged durably before its response leaves (an event referring to it must find it). With one
SQLite transaction and one disk flush per request, concurrent requests queue behind each other's flushes, and
the flush, not the model, bounds throughput. :class:`GroupCommit` lets the first waiting request write
everything queued so far in one transaction (one flush) while the others wait for that write; each still
returns only after its own items are on disk, so nothing about durability changes.

If a shared write fails, each request's items are written again on their own, so one bad list cannot cost
the others their log; each request then sees only its own outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Ticket(Generic[T]):
    items: list[T]
    done: bool = False
    error: BaseException | None = None


class GroupCommit(Generic[T]):
    """Batches concurrent writes: one caller (the leader) writes for everyone queued behind it.

    Thread-safe; one instance per store.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._queue: list[_Ticket[T]] = []
        self._writing = False

    def submit(self, items: list[T], write: Callable[[list[T]], None]) -> None:
        """Write ``items`` (with whatever else is queued) and return once they are written.

        Parameters
        ----------
        items : list
        write : callable
            Writes a list of items in one transaction; the same store behind every caller.

        Raises
        ------
        Exception
            Whatever ``write`` raised for these items.
        """
        ticket = _Ticket(items)
        with self._condition:
            self._queue.append(ticket)
            while not ticket.done:
                if self._writing:
                    self._condition.wait()
                    continue
                self._writing = True
                batch, self._queue = self._queue, []
                self._condition.release()
                try:
                    self._write(batch, write)
                finally:
                    self._condition.acquire()
                    for done in batch:
                        done.done = True
                    self._writing = False
                    self._condition.notify_all()
        if ticket.error is not None:
            raise ticket.error

    def _write(self, batch: list[_Ticket[T]], write: Callable[[list[T]], None]) -> None:
        try:
            write([item for ticket in batch for item in ticket.items])
        except BaseException as exc:  # handed to each waiting caller and re-raised there
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for ticket in batch:  # alone, so one caller's bad items do not fail the others
                    try:
                        write(ticket.items)
                    except BaseException as own:
                        ticket.error = own


__all__ = ["GroupCommit"]
