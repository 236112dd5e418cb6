"""Dependencies of the routes as ``Annotated`` aliases (FastAPI full-stack template style).

Everything heavy lives on ``app.state`` (built in :func:`serving.app.lifespan` or passed to
:func:`serving.app.create_app`); a route asks for it by type.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from serving.auth import Role, require
from serving.model_holder import ModelHolder, ModelNotLoadedError, ServedModel
from serving.settings import ServingSettings
from serving.store import FeedbackStore


def _settings(request: Request) -> ServingSettings:
    return request.app.state.settings


def _holder(request: Request) -> ModelHolder:
    return request.app.state.holder


def _served(request: Request) -> ServedModel:
    """The model serving now, read once per request (a reload never changes it mid-request)."""
    holder: ModelHolder = request.app.state.holder
    try:
        return holder.current
    except ModelNotLoadedError as exc:  # its message may hold the registry's address: not answered
        retry = str(request.app.state.settings.retry_after_seconds)
        reason = ("the model is still loading" if holder.loading else
                  f"the last load of alias {holder.settings.model_alias!r} failed (see the server log)"
                  if holder.last_error else "no model loaded")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"no model is serving yet: {reason}",
                            headers={"Retry-After": retry}) from exc


def ready_store(request: Request) -> FeedbackStore:
    """The feedback store with its tables created (at the first call that reaches the database).

    Raises
    ------
    serving.store.StoreUnavailableError
        If the database cannot be reached (the API answers 503 with ``Retry-After``).
    """
    state = request.app.state
    if not state.store_ready:
        lock: threading.Lock = state.store_lock
        with lock:
            if not state.store_ready:
                state.store.create_schema()
                state.store_ready = True
    return state.store


@contextmanager
def one_writer(request: Request) -> Iterator[None]:
    """Serialize this process's writes to a SQLite store.

    SQLite admits one writer at a time, and a writer that finds the lock taken sleeps in growing steps
    (up to 100 ms); queueing on a Python lock instead keeps the tail latency of concurrent requests low
    (``docs/api.md`` has the measurement). PostgreSQL stores are not serialized.
    """
    lock: threading.Lock | None = request.app.state.write_lock
    if lock is None:
        yield
        return
    with lock:
        yield


SettingsDep = Annotated[ServingSettings, Depends(_settings)]
HolderDep = Annotated[ModelHolder, Depends(_holder)]
ServedModelDep = Annotated[ServedModel, Depends(_served)]
StoreDep = Annotated[FeedbackStore, Depends(ready_store)]

#: Route dependencies by audience (admin is always admitted).
PlatformAccess = Depends(require(Role.PLATFORM))
PlannerAccess = Depends(require(Role.PLANNER))
AdminAccess = Depends(require(Role.ADMIN))

__all__ = ["AdminAccess", "HolderDep", "PlannerAccess", "PlatformAccess", "ServedModelDep", "SettingsDep",
           "StoreDep", "one_writer", "ready_store"]
