"""The feedback store under faults (issue 15): a SQLite file moved away while serving, a store locked by another
process, and the file modes of a store that holds personal data. Real SQLite files, a real second connection
holding the lock, the real API in a TestClient."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.model_holder import ModelHolder
from serving.store import FeedbackStore, StoreUnavailableError
from tests.serving.conftest import Registry, app_state, headers, make_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from serving.app import create_app

PLATFORM = headers("platform")
POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _served(request_id: str, resident: str = "R1") -> ServedList:
    items = [ServedItem(service_id=f"S{i}", position=i, score=1.0 / i) for i in (1, 2, 3)]
    return ServedList(request_id=request_id, resident_id=resident, model_version="7", items=items)


def _events(request_id: str, n: int, resident: str = "R1") -> list[FeedbackEvent]:
    return [FeedbackEvent(request_id=request_id, resident_id=resident, service_id=f"S{i}", event="view")
            for i in range(n)]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- fault 6: a vanished SQLite file --------------------------------------------------------------------------

def test_a_moved_database_is_never_replaced_its_wal_is_kept_and_it_reconnects(tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    wal = Path(f"{path}-wal")
    aside = tmp_path / "aside.db"
    with FeedbackStore(f"sqlite:///{path}") as store:
        store.create_schema()
        for n in range(20):
            store.log_served(_served(f"q{n}"))
            assert store.add_events(_events(f"q{n}", 10)) == 10
        assert wal.stat().st_size > 0  # acknowledged rows still live in the WAL only
        wal_bytes = wal.read_bytes()
        path.rename(aside)
        with pytest.raises(StoreUnavailableError):
            store.log_served(_served("during"))
        with pytest.raises(StoreUnavailableError):
            store.add_events(_events("q0", 1))
        assert not store.ping()
        assert not path.exists(), "a new, empty store was created in place of the moved one"
        assert wal.exists() and wal.read_bytes() == wal_bytes, "the orphaned WAL was changed"
        aside.rename(path)
        store.log_served(_served("after"))  # reconnects by itself
        assert store.add_events(_events("after", 1)) == 1
        assert store.ping()
        assert store.count_events() == 20 * 10 + 1 and store.count_served() == 21


def test_a_wal_without_its_database_is_never_given_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    with FeedbackStore(f"sqlite:///{path}") as store:
        store.create_schema()
        store.log_served(_served("q1"))
        keep = sqlite3.connect(path)  # an open reader keeps the WAL from being checkpointed away at close
        keep.execute("SELECT count(*) FROM served_lists").fetchone()
        path.rename(tmp_path / "aside.db")
    with FeedbackStore(f"sqlite:///{path}") as restarted:  # e.g. the server restarts while the file is away
        with pytest.raises(StoreUnavailableError, match="write-ahead log"):
            restarted.create_schema()
        assert not path.exists()
    keep.close()


def test_a_store_created_once_is_not_recreated_after_its_file_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    with FeedbackStore(f"sqlite:///{path}") as store:
        store.create_schema()
        store.log_served(_served("q1"))
        store.close()  # checkpointed: no WAL is left to give the removal away
        path.rename(tmp_path / "aside.db")
        with pytest.raises(StoreUnavailableError, match="moved or removed"):
            store.create_schema()
        assert not path.exists()


def test_a_store_not_created_yet_is_ready_and_not_created_by_asking(tmp_path: Path) -> None:
    path = tmp_path / "data" / "feedback.db"
    with FeedbackStore(f"sqlite:///{path}") as store:
        assert store.state() == "ok"
        assert not path.exists()


@pytest.fixture
def api_settings(registry: Registry, tmp_path: Path) -> Any:
    return make_settings(registry, tmp_path, served_log_wait_ms=2000)


@pytest.fixture
def api(api_settings: Any, holder: ModelHolder) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, holder=holder)) as test_client:
        yield test_client


def _feedback(served: dict[str, Any]) -> dict[str, object]:
    return {"request_id": served["request_id"], "resident_id": served["resident_id"],
            "service_id": served["data"][0]["service_id"], "event": "click"}


def test_api_serves_unlogged_while_the_file_is_away_and_recovers_when_it_is_back(api: TestClient,
                                                                                  api_settings: Any) -> None:
    path = Path(api_settings.data_dir) / "feedback.db"
    before = api.get("/recommendations/R0000001", headers=PLATFORM)
    assert before.headers["X-Linli-Logged"] == "true"
    assert api.post("/feedback", json=_feedback(before.json()), headers=PLATFORM).status_code == 201
    path.rename(path.with_name("aside.db"))

    during = api.get("/recommendations/R0000002", headers=PLATFORM)
    assert during.status_code == 200 and during.headers["X-Linli-Logged"] == "false"
    refused = api.post("/feedback", json=_feedback(before.json()), headers=PLATFORM)
    assert refused.status_code == 503 and "Retry-After" in refused.headers
    ready = api.get("/ready").json()
    assert ready["store"] == "unavailable" and ready["detail"] and str(tmp_dir(path)) not in ready["detail"]
    assert not path.exists()

    path.with_name("aside.db").rename(path)
    assert api.post("/feedback", json=_feedback(before.json()), headers=PLATFORM).status_code == 201
    assert api.get("/ready").json()["store"] == "ok"
    after = api.get("/recommendations/R0000003", headers=PLATFORM)
    assert after.headers["X-Linli-Logged"] == "true"
    with FeedbackStore(f"sqlite:///{path}") as store:
        assert store.count_events() == 2 and store.count_served() == 2


def tmp_dir(path: Path) -> Path:
    """The folder of the test's store (a path that must never appear in an answer)."""
    return path.parent


# --- fault 7: a store locked by another process ---------------------------------------------------------------

@contextmanager
def _sqlite_locked(path: Path) -> Iterator[None]:
    """Another connection (as another process would) holds ``BEGIN EXCLUSIVE`` on the file."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_locked_sqlite_store_says_so_without_waiting_for_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    with FeedbackStore(f"sqlite:///{path}") as store:
        store.create_schema()
        with _sqlite_locked(path):
            assert store.ping()  # readers still get through
            assert store.state() == "locked"
        assert store.state() == "ok"


def test_a_locked_sqlite_store_does_not_hold_up_the_list(api: TestClient, api_settings: Any) -> None:
    path = Path(api_settings.data_dir) / "feedback.db"
    assert api.get("/recommendations/R0000001", headers=PLATFORM).headers["X-Linli-Logged"] == "true"
    with _sqlite_locked(path):
        answer = api.get("/recommendations/R0000002", headers=PLATFORM)
        assert answer.status_code == 200
        assert answer.headers["X-Linli-Logged"] == "queued"  # answered while the lock is still held
        ready = api.get("/ready").json()
        assert ready["status"] == "ready" and ready["store"] == "unavailable"
        assert "locked" in ready["detail"]
    app_state(api).served_log.drain()
    with FeedbackStore(f"sqlite:///{path}") as store:
        assert answer.json()["request_id"] in set(store.served()["request_id"])
    assert api.post("/feedback", json=_feedback(answer.json()), headers=PLATFORM).status_code == 201
    assert api.get("/ready").json()["store"] == "ok"


def test_a_store_locked_before_the_first_list_does_not_hold_it_up(registry: Registry, holder: ModelHolder,
                                                                   tmp_path: Path) -> None:
    settings = make_settings(registry, tmp_path, served_log_wait_ms=2000)
    path = tmp_path / "feedback.db"
    with FeedbackStore(f"sqlite:///{path}") as store:
        store.create_schema()
    with TestClient(create_app(settings, holder=holder)) as api, _sqlite_locked(path):
        answer = api.get("/recommendations/R0000001", headers=PLATFORM)
        assert answer.status_code == 200 and answer.headers["X-Linli-Logged"] == "queued"


def test_a_locked_postgresql_store_does_not_hold_up_the_list(registry: Registry, holder: ModelHolder,
                                                             tmp_path: Path) -> None:
    schema = f"linli_test_{uuid.uuid4().hex[:12]}"
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}%20-clock_timeout%3D10000"
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with FeedbackStore(POSTGRES_URL, schema=schema) as store:
            store.create_schema()
        settings = make_settings(registry, tmp_path, served_log_wait_ms=2000, database_url=url)
        with TestClient(create_app(settings, holder=holder)) as api:
            assert api.get("/recommendations/R0000001", headers=PLATFORM).headers["X-Linli-Logged"] == "true"
            with engine.connect() as other, other.begin():
                other.execute(sa.text(f"LOCK TABLE {schema}.served_lists IN ACCESS EXCLUSIVE MODE"))
                answer = api.get("/recommendations/R0000002", headers=PLATFORM)
                assert answer.status_code == 200 and answer.headers["X-Linli-Logged"] == "queued"
            app_state(api).served_log.drain()
            assert api.post("/feedback", json=_feedback(answer.json()), headers=PLATFORM).status_code == 201
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


# --- fault 14: private file modes ------------------------------------------------------------------------------

def test_a_new_sqlite_store_is_private_to_its_user(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    path = folder / "feedback.db"
    with FeedbackStore(f"sqlite:///{path}") as store:
        store.create_schema()
        store.log_served(_served("q1"))
        for name in ("feedback.db", "feedback.db-wal", "feedback.db-shm"):
            assert _mode(folder / name) == 0o600, name
    assert _mode(folder) == 0o700 and _mode(folder.parent) == 0o700
    shutil.rmtree(tmp_path / "new")
