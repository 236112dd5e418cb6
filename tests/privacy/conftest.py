"""Privacy fixtures: keys set for one test (the settings re-read when the environment changes), and a feedback
store on each backend (a SQLite file, or a throw-away PostgreSQL schema)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from serving.store import FeedbackStore
from tests.conftest import POSTGRES_URL

PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"
ENCRYPTION_KEY = "00112233445566778899aabbccddeeff"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both privacy keys set for this test."""
    monkeypatch.setenv("LINLI_PSEUDONYM_KEY", PSEUDONYM_KEY)
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", ENCRYPTION_KEY)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FeedbackStore]:
    """An empty store with its tables, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        made = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
        made.create_schema()
        yield made
        made.close()
        return
    schema = f"privacy_{uuid.uuid4().hex[:12]}"
    made = FeedbackStore(POSTGRES_URL, schema=schema)
    made.create_schema()
    try:
        yield made
    finally:
        made.close()
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()
