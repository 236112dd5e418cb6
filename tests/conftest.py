"""Shared fixtures (one small synthetic community, generated once per test session) and the suite's markers.

Markers (see ``pyproject.toml``): ``postgres`` is given to every test whose id names PostgreSQL; such a test is
skipped with the reason when the server cannot be reached, except under CI (``CI`` set), where that is a failure.
``browser`` marks the planner-page browser test, ``slow`` the tests that fit models on whole communities or run
servers, so ``pytest -m "not slow"`` is the fast inner loop.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Model artifacts are HMAC-signed (issue 15, fault 13): one fixed test key, so no key file is made in ./data.
os.environ.setdefault("LINLI_ARTIFACT_KEY", "linli-test-artifact-key-0123456789")

from features import Dataset
from features.sources.synthetic import SyntheticCommunity, generate_community

FIXTURE_RESIDENTS = 3000
FIXTURE_SEED = 7
POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Test files whose tests fit models on whole communities, train through MLflow or run servers (measured with
#: ``pytest --durations``); every test in them is ``slow``.
SLOW_FILES = (
    "tests/experiments/", "tests/serving/", "tests/test_cli.py", "tests/training/test_retrain.py",
    "tests/training/test_experiment.py", "tests/training/test_monitor.py", "tests/training/test_ab_report.py",
    "tests/training/test_online_gate.py", "tests/recommenders/test_hybrid.py", "tests/features/test_movielens.py",
    "tests/training/test_benchmark_protocol.py", "tests/scale/",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give the markers by what a test needs (its id and file), so a new test cannot forget them."""
    for item in items:
        nodeid = item.nodeid.replace(os.sep, "/")
        if "postgres" in nodeid.lower():
            item.add_marker(pytest.mark.postgres)
        if "browser" in nodeid:
            item.add_marker(pytest.mark.browser)
        if nodeid.startswith(SLOW_FILES) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


@cache
def postgres_unreachable() -> str | None:
    """Why PostgreSQL at :data:`POSTGRES_URL` cannot be used, or ``None`` when it answers."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means: no usable server
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def under_ci() -> bool:
    """Whether the suite runs under CI (``CI`` set to anything but empty, ``0``, ``false`` or ``no``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, under CI, fail) a ``postgres`` test when the server cannot be reached."""
    if item.get_closest_marker("postgres") is None:
        return
    reason = postgres_unreachable()
    if reason is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is unreachable ({reason}); set LINLI_TEST_POSTGRES_URL"
    if under_ci():
        pytest.fail(f"{message} — CI must start PostgreSQL before the tests", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def community() -> SyntheticCommunity:
    """A 3,000-resident synthetic community (seed 7)."""
    return generate_community(residents=FIXTURE_RESIDENTS, seed=FIXTURE_SEED)


@pytest.fixture(scope="session")
def dataset(community: SyntheticCommunity) -> Dataset:
    """The validated dataset of :func:`community`."""
    return community.dataset()


@pytest.fixture(scope="session")
def community_dir(community: SyntheticCommunity, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`community` written to a folder as Parquet, with its ground truth."""
    return community.write(tmp_path_factory.mktemp("community"))
