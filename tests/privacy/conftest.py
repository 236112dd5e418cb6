"""Privacy fixtures: keys set for one test (the settings re-read when the environment changes), and a feedback
store on each backend (the monitor tests' fixture: a SQLite file, or a throw-away PostgreSQL schema)."""

from __future__ import annotations

import pytest

from tests.training.test_monitor import store  # noqa: F401  (the fixture, on SQLite and PostgreSQL)

PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"
ENCRYPTION_KEY = "00112233445566778899aabbccddeeff"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both privacy keys set for this test."""
    monkeypatch.setenv("LINLI_PSEUDONYM_KEY", PSEUDONYM_KEY)
    monkeypatch.setenv("LINLI_ENCRYPTION_KEY", ENCRYPTION_KEY)
