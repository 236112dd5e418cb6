"""The feedback store on SQLite and PostgreSQL: round trips, validation, all-or-nothing batches, concurrency,
erasure, unavailable databases and a SIGKILL in the middle of acknowledged writes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pandas as pd
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from features import Columns as C
from features import Dataset, Vocab
from features.sources.synthetic import SyntheticCommunity
from recommenders import SCORE
from serving.feedback_models import (
    MAX_BATCH,
    MODEL_VERSION,
    POSITION,
    REQUEST_ID,
    VARIANT,
    EventName,
    FeedbackBatch,
    FeedbackEvent,
    ServedItem,
    ServedList,
    now_local,
)
from serving.store import (
    DuplicateRequestError,
    FeedbackStore,
    InvalidFeedbackError,
    StoreUnavailableError,
    UnknownRequestError,
)

POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KILL_BATCH = 100


@dataclass(frozen=True)
class Backend:
    """Where a test's store lives: a SQLite file, or a throw-away PostgreSQL schema."""

    url: str
    schema: str | None = None

    def open(self) -> FeedbackStore:
        store = FeedbackStore(self.url, schema=self.schema)
        store.create_schema()
        return store


@contextmanager
def _postgres_schema() -> Iterator[Backend]:
    """A unique PostgreSQL schema for one test, dropped after it."""
    schema = f"linli_test_{uuid.uuid4().hex[:12]}"
    try:
        yield Backend(POSTGRES_URL, schema)
    finally:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend(f"sqlite:///{tmp_path / 'feedback.db'}")
        return
    with _postgres_schema() as postgres:
        yield postgres


@pytest.fixture
def store(backend: Backend) -> Iterator[FeedbackStore]:
    with backend.open() as opened:
        yield opened


def _served(request_id: str, resident: str = "R1", services: tuple[str, ...] = ("S1", "S2", "S3"),
            model_version: str = "7", **fields: Any) -> ServedList:
    items = [ServedItem(service_id=s, position=i + 1, score=1.0 / (i + 1)) for i, s in enumerate(services)]
    return ServedList(request_id=request_id, resident_id=resident, model_version=model_version, items=items,
                      **fields)


def _event(request_id: str, resident: str = "R1", service: str = "S1", event: str = "click",
           **fields: Any) -> FeedbackEvent:
    return FeedbackEvent(request_id=request_id, resident_id=resident, service_id=service, event=event, **fields)


def test_served_lists_and_events_round_trip(store: FeedbackStore) -> None:
    store.log_served(_served("q1", served_at=datetime(2026, 11, 2, 8, 0)))
    store.log_served_many([_served("q2", "R2", ("S4",), variant="challenger"), _served("q3", "R3", ())])
    stored = store.add_events([
        _event("q1", event="view", timestamp=datetime(2026, 11, 2, 8, 1), channel="online"),
        _event("q1", event="rate", rating=4.5, comment="很方便", timestamp="2026-11-02T00:05:00Z"),
        _event("q2", "R2", "S4", "use", channel="offline"),
    ])
    assert stored == 3 == store.count_events()
    assert store.count_served() == 3
    events = store.events()
    assert events[C.EVENT].tolist() == ["view", "rate", "use"]
    assert events[C.TIMESTAMP].iloc[1] == pd.Timestamp(2026, 11, 2, 8, 5)  # UTC converted to Shanghai time
    assert events[C.RATING].iloc[1] == 4.5 and events[C.RATING].isna().tolist() == [True, False, True]
    assert events[C.COMMENT].iloc[1] == "很方便"
    assert events[VARIANT].tolist() == ["champion", "champion", "challenger"]
    assert events[MODEL_VERSION].unique().tolist() == ["7"]
    served = store.served()
    assert served[[REQUEST_ID, C.SERVICE, POSITION]].values.tolist() == [  # q3 had no items
        ["q1", "S1", 1], ["q1", "S2", 2], ["q1", "S3", 3], ["q2", "S4", 1]]
    assert served.loc[served[REQUEST_ID] == "q1", SCORE].tolist() == [1.0, 0.5, 1.0 / 3]


def test_counts_per_version_count_lists_with_items_and_events(store: FeedbackStore) -> None:
    assert store.counts_per_version() == ({}, {})
    store.log_served_many([_served("q1"), _served("q2", "R2"), _served("q3", "R3", ())])  # q3 served empty
    store.log_served(_served("q4", "R4", ("S9",), model_version="8"))
    store.add_events([_event("q1"), _event("q1", event="view"), _event("q3", "R3"), _event("q4", "R4", "S9")])
    lists, events = store.counts_per_version()
    assert lists == {"7": 2, "8": 1}
    assert events == {"7": 3, "8": 1}


def test_since_filters_by_arrival_and_serving_time(store: FeedbackStore) -> None:
    store.log_served(_served("old", served_at=datetime(2026, 1, 1)))
    store.log_served(_served("new"))
    store.add_events([_event("old")])
    cut = now_local() + timedelta(microseconds=1)
    while now_local() <= cut:
        time.sleep(0.001)
    store.add_events([_event("new", event="book")])
    assert store.events(since=cut)[C.EVENT].tolist() == ["book"]
    assert set(store.served(since="2026-05-31T16:00:00Z")[REQUEST_ID]) == {"new"}  # 2026-06-01 in Shanghai
    assert len(store.events(since=datetime(2000, 1, 1))) == 2


def test_events_are_interactions_a_retrain_can_load(store: FeedbackStore, community: SyntheticCommunity) -> None:
    frames = community.frames
    residents = frames["residents"][C.RESIDENT].astype(str).tolist()[:20]
    services = tuple(frames["services"][C.SERVICE].astype(str).tolist()[:5])
    for i, resident in enumerate(residents):
        store.log_served(_served(f"req{i}", resident, services))
    store.add_events([_event(f"req{i}", r, services[i % 5], Vocab.EVENTS[i % 5], channel="online")
                      for i, r in enumerate(residents)] + [_event("req0", residents[0], services[0], "rate", rating=3)])
    feedback = store.events()
    dataset = Dataset.from_frames(frames["residents"], frames["communities"], frames["services"], feedback)
    assert len(dataset.interactions) == len(residents) + 1
    typed = dataset.interactions
    for column in (C.RESIDENT, C.SERVICE, C.TIMESTAMP, C.EVENT, C.RATING, C.CHANNEL, C.COMMENT):
        assert feedback[column].dtype == typed[column].dtype, column
    combined = pd.concat([frames["interactions"], feedback[frames["interactions"].columns]], ignore_index=True)
    merged = Dataset.from_frames(frames["residents"], frames["communities"], frames["services"], combined)
    assert len(merged.interactions) == len(frames["interactions"]) + len(feedback)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"event": "rate"}, "rating", "needs a rating"),
    ({"event": "rate", "rating": 6}, "rating", "less than or equal to 5"),
    ({"event": "rate", "rating": 0.5}, "rating", "greater than or equal to 1"),
    ({"event": "click", "rating": 3}, "rating", "only 'rate' events carry a rating"),
    ({"event": "like"}, "event", "'impression', 'view', 'click', 'book', 'use' or 'rate'"),
    ({"event": "view", "phone": "13800000000"}, "phone", "Extra inputs are not permitted"),
    ({"event": "view", "comment": "很" * 501}, "comment", "at most 500 characters"),
    ({"event": "view", "channel": "carrier pigeon"}, "channel", "'online' or 'offline'"),
    ({"event": "view", "resident_id": ""}, "resident_id", "at least 1 character"),
    ({"event": "view", "timestamp": "next tuesday"}, "timestamp", "valid datetime"),
])
def test_invalid_feedback_event_names_the_field(fields: dict[str, Any], field: str, message: str) -> None:
    raw = {"request_id": "q1", "resident_id": "R1", "service_id": "S1", **fields}
    with pytest.raises(ValidationError) as caught:
        FeedbackEvent.model_validate(raw)
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [(field,)]
    assert message in errors[0]["msg"]


def test_batches_hold_one_to_a_thousand_events() -> None:
    event = {"request_id": "q1", "resident_id": "R1", "service_id": "S1", "event": "view"}
    assert len(FeedbackBatch.model_validate({"events": [event] * MAX_BATCH}).events) == MAX_BATCH
    for size, message in ((0, "at least 1 item"), (MAX_BATCH + 1, "at most 1000 items")):
        with pytest.raises(ValidationError, match=message):
            FeedbackBatch.model_validate({"events": [event] * size})


def test_event_names_are_the_data_contracts() -> None:
    assert get_args(EventName) == Vocab.EVENTS


def test_served_positions_must_be_unique() -> None:
    with pytest.raises(ValidationError, match="own position"):
        ServedList(request_id="q", resident_id="R1", model_version="1",
                   items=[ServedItem(service_id="S1", position=1, score=1.0)] * 2)


def test_unknown_request_rejects_the_whole_batch_and_keeps_earlier_rows(store: FeedbackStore) -> None:
    store.log_served(_served("q1"))
    store.log_served(_served("q2", "R2"))
    store.add_events([_event("q1"), _event("q2", "R2")])
    with pytest.raises(UnknownRequestError, match=r"event 2: request_id 'nope' was never served") as caught:
        store.add_events([_event("q1", event="book"), _event("q2", "R2"), _event("nope")])
    assert (caught.value.index, caught.value.request_id) == (2, "nope")
    with pytest.raises(UnknownRequestError, match=r"event 1: request_id 'q2' was not served to resident 'R1'"):
        store.add_events([_event("q1"), _event("q2", "R1")])
    assert store.count_events() == 2
    assert store.events()[C.EVENT].tolist() == ["click", "click"]


def test_a_row_the_database_refuses_rolls_back_the_batch(store: FeedbackStore) -> None:
    store.log_served(_served("q1"))
    store.add_events([_event("q1")])
    # bypass pydantic to reach the database's own CHECK constraint with the last row of a batch
    bad = FeedbackEvent.model_construct(request_id="q1", resident_id="R1", service_id="S1", event="view",
                                        timestamp=now_local(), rating=9.0, channel=None, comment=None)
    with pytest.raises(InvalidFeedbackError, match="nothing was stored"):
        store.add_events([_event("q1", event="use"), _event("q1", event="book"), bad])
    assert store.count_events() == 1


def test_a_request_id_is_logged_once(store: FeedbackStore) -> None:
    store.log_served(_served("q1"))
    with pytest.raises(DuplicateRequestError, match="'q1' is already logged"):
        store.log_served_many([_served("q9"), _served("q1")])
    assert set(store.served()[REQUEST_ID]) == {"q1"}  # q9 went with the failed transaction


def test_concurrent_batches_are_all_counted(store: FeedbackStore) -> None:
    residents = [f"R{i}" for i in range(8)]
    store.log_served_many([_served(f"q{r}", r) for r in residents])

    def send(resident: str) -> int:
        return sum(store.add_events([_event(f"q{resident}", resident, f"S{j}", "view") for j in range(50)])
                   for _ in range(10))

    with ThreadPoolExecutor(max_workers=8) as pool:
        acknowledged = sum(pool.map(send, residents))
    assert acknowledged == 8 * 10 * 50 == store.count_events()
    assert store.events().groupby(C.RESIDENT).size().tolist() == [500] * 8


def test_erase_resident_removes_their_rows_everywhere(store: FeedbackStore) -> None:
    store.log_served_many([_served("a1", "R1"), _served("a2", "R1", ("S9",)), _served("b1", "R2")])
    store.add_events([_event("a1"), _event("a2", service="S9", event="rate", rating=2), _event("b1", "R2")])
    assert store.erase_resident("R1") == {"served_lists": 2, "served_items": 4, "feedback_events": 2, "requests": 0}
    assert "R1" not in set(store.events()[C.RESIDENT]) | set(store.served()[C.RESIDENT])
    assert store.count_events() == 1 and len(store.served()) == 3
    with pytest.raises(UnknownRequestError, match="'a1' was never served"):
        store.add_events([_event("a1")])
    assert store.erase_resident("R1") == {"served_lists": 0, "served_items": 0, "feedback_events": 0, "requests": 0}


def test_sqlite_store_makes_its_folder_and_runs_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "data" / "feedback.db"
    with FeedbackStore(f"sqlite:///{path}") as store:
        store.create_schema()
        assert store.ping()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize(("url", "schema", "message"), [
    ("mysql://root@127.0.0.1/test", None, "SQLite or PostgreSQL"),
    ("sqlite://", None, "needs a file path"),
    ("sqlite:///feedback.db", "linli", "schema is for PostgreSQL"),
])
def test_unsupported_urls_are_refused_up_front(url: str, schema: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeedbackStore(url, schema=schema)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _assert_unavailable(store: FeedbackStore, message: str) -> None:
    assert not store.ping()
    with pytest.raises(StoreUnavailableError, match=message):
        store.add_events([_event("q1")])
    with pytest.raises(StoreUnavailableError, match=message):
        store.log_served(_served("q1"))


def test_postgresql_server_down_is_unavailable() -> None:
    url = sa.make_url(POSTGRES_URL).set(host="127.0.0.1", port=_closed_port())
    with FeedbackStore(url.render_as_string(hide_password=False)) as store:
        with pytest.raises(StoreUnavailableError, match="Connection refused"):
            store.create_schema()
        _assert_unavailable(store, "unavailable while")


def test_postgresql_without_tables_says_to_create_them() -> None:
    store = FeedbackStore(POSTGRES_URL, schema=f"linli_missing_{uuid.uuid4().hex[:8]}")
    with store, pytest.raises(StoreUnavailableError, match="run create_schema first"):
        store.count_events()


def test_postgresql_store_reconnects_after_its_connections_are_killed() -> None:
    name = f"linli_{uuid.uuid4().hex[:10]}"
    url = sa.make_url(POSTGRES_URL).update_query_dict({"application_name": name}).render_as_string(False)
    with _postgres_schema() as backend, FeedbackStore(url, schema=backend.schema) as store:
        store.create_schema()
        store.log_served(_served("q1"))
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            killed = conn.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                          "WHERE application_name = :name"), {"name": name}).scalar_one()
        admin.dispose()
        assert killed >= 1
        assert store.add_events([_event("q1")]) == 1 and store.count_events() == 1


def test_sqlite_in_an_unusable_folder_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    with FeedbackStore(f"sqlite:///{blocker / 'feedback.db'}") as store:
        with pytest.raises(StoreUnavailableError, match="while creating the database folder"):
            store.create_schema()
        _assert_unavailable(store, "unable to open database file")


def test_sqlite_folder_removed_while_serving_is_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with FeedbackStore(f"sqlite:///{folder / 'feedback.db'}") as store:
        store.create_schema()
        store.log_served(_served("q1"))
        assert store.add_events([_event("q1")]) == 1
        shutil.rmtree(folder)  # open connections would otherwise keep writing into the deleted file
        _assert_unavailable(store, "removed or replaced|unable to open database file")


_KILL_CHILD = f"""
import sys
from serving.feedback_models import FeedbackEvent, ServedList
from serving.store import FeedbackStore
store = FeedbackStore(sys.argv[1], schema=sys.argv[2] or None)
store.create_schema()
acknowledged = 0
for n in range(1_000_000):
    store.log_served(ServedList(request_id=f"kill{{n}}", resident_id="R1", model_version="1"), durable=False)
    batch = [FeedbackEvent(request_id=f"kill{{n}}", resident_id="R1", service_id=f"S{{i}}", event="view")
             for i in range({KILL_BATCH})]
    acknowledged += store.add_events(batch)
    print(n + 1, acknowledged, flush=True)
"""


def test_sigkill_loses_no_acknowledged_event(backend: Backend) -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, backend.url, backend.schema or ""],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    assert child.stdout is not None
    line = "0 0"
    try:
        for line in child.stdout:  # the child prints only after add_events has returned
            if int(line.split()[1]) >= 20 * KILL_BATCH or time.monotonic() > deadline:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        rest, errors = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, errors
    lists, acknowledged = map(int, [line, *rest.splitlines()][-1].split())  # lines printed before the kill count
    assert acknowledged >= KILL_BATCH
    with backend.open() as store:
        stored, served = store.count_events(), store.count_served()
    assert acknowledged <= stored <= acknowledged + KILL_BATCH  # at most the unprinted batch more
    assert lists <= served <= lists + 1  # served lists logged without waiting for the disk survive a crash too
    if backend.schema is None:
        path = sa.make_url(backend.url).database
        assert sqlite3.connect(str(path)).execute("PRAGMA integrity_check").fetchone() == ("ok",)
