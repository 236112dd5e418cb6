"""The suite's markers as a developer meets them: a missing PostgreSQL skips with the reason, except under CI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import under_ci

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_TEST = "tests/features/test_sources.py::test_postgresql_database_loads"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again once the socket is


def _pytest(ci: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["LINLI_TEST_POSTGRES_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test"
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_an_unreachable_postgres_skips_its_tests_with_the_reason() -> None:
    done = _pytest(None, POSTGRES_TEST)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "is unreachable" in done.stdout and "Connection refused" in done.stdout


def test_under_ci_an_unreachable_postgres_fails() -> None:
    done = _pytest("true", POSTGRES_TEST)
    assert done.returncode != 0
    assert "CI must start PostgreSQL before the tests" in done.stdout


@pytest.mark.parametrize(("value", "ci"), [("true", True), ("1", True), ("false", False), ("0", False), ("", False)])
def test_ci_is_read_as_a_flag(monkeypatch: pytest.MonkeyPatch, value: str, ci: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert under_ci() is ci
