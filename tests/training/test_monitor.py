"""The online monitor against a real feedback store (SQLite and PostgreSQL) and a real MLflow tracking store:
daily points on each version's run, final days only, idempotent, incremental, safe after a half-logged day."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from mlflow import MlflowClient
from mlflow.entities import Metric
from typer.testing import CliRunner

from serving.feedback_models import FeedbackEvent, ServedItem, ServedList, now_local
from serving.store import FeedbackStore
from training.monitor import MARKER, day_end_ms, day_step, metric_name, monitor
from training.online_metrics import online_metrics

POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DAY1 = datetime(2026, 11, 2)
SETTLE = timedelta(hours=6)


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow store for the module (creating one takes seconds); each test registers its own model."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _register(tracking_uri: str, versions: int = 2) -> tuple[str, list[str]]:
    """A registered model whose versions 1..n each point at their own (empty) run, as retrain makes them."""
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.get_experiment_by_name("linli")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment("linli")
    name = f"linli-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    runs = []
    for _ in range(versions):
        run_id = client.create_run(experiment_id).info.run_id
        client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)
        runs.append(run_id)
    return name, runs


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FeedbackStore]:
    if request.param == "sqlite":
        opened = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
        opened.create_schema()
        yield opened
        opened.close()
        return
    schema = f"linli_test_{uuid.uuid4().hex[:12]}"
    opened = FeedbackStore(POSTGRES_URL, schema=schema)
    opened.create_schema()
    try:
        yield opened
    finally:
        opened.close()
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _serve_day(store: FeedbackStore, day: datetime, *, residents: int = 6, clicks: int = 2,
               version: str = "1", variant: str = "champion") -> None:
    """``residents`` lists of 3 services at 10:00 on ``day``; the first ``clicks`` residents click their top one."""
    tag = f"{day:%m%d}-{version}"
    store.log_served_many([
        ServedList(request_id=f"{tag}-{r}", resident_id=f"R{r}", model_version=version, variant=variant,
                   served_at=day + timedelta(hours=10),
                   items=[ServedItem(service_id=f"S{(r + i) % 5}", position=i + 1, score=0.0) for i in range(3)])
        for r in range(residents)])
    store.add_events([FeedbackEvent(request_id=f"{tag}-{r}", resident_id=f"R{r}", service_id=f"S{r % 5}",
                                    event="click", timestamp=day + timedelta(hours=11)) for r in range(clicks)])


def _history(tracking_uri: str, run_id: str, key: str) -> list[tuple[int, float, int]]:
    client = MlflowClient(tracking_uri=tracking_uri)
    return sorted((m.step, m.value, m.timestamp) for m in client.get_metric_history(run_id, key))


def test_monitor_logs_each_final_day_once(store: FeedbackStore, tracking: str) -> None:
    name, (run1, run2) = _register(tracking)
    day2, day3 = DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)
    _serve_day(store, DAY1, clicks=1)
    _serve_day(store, day2, clicks=3)
    _serve_day(store, day2, clicks=2, version="2", variant="challenger")
    _serve_day(store, day3, clicks=6)  # today: not final yet
    personas = pd.Series(["elderly", "elderly", "commuter"], index=["R0", "R1", "R2"])
    now = day3 + timedelta(hours=12)

    first = monitor(store, tracking, name, now=now, settle=SETTLE, personas=personas)
    by_version = {v.model_version: v for v in first.versions}
    assert by_version["1"].logged_days == ["2026-11-02", "2026-11-03"]
    assert by_version["1"].pending_days == ["2026-11-04"]
    assert by_version["2"].logged_days == ["2026-11-03"] and by_version["2"].run_id == run2
    ctr = _history(tracking, run1, metric_name("champion", "all", "ctr"))
    assert ctr == [(day_step(pd.Timestamp(DAY1)), 1 / 18, day_end_ms(pd.Timestamp(DAY1))),
                   (day_step(pd.Timestamp(day2)), 3 / 18, day_end_ms(pd.Timestamp(day2)))]
    assert day_end_ms(pd.Timestamp(DAY1)) == int(pd.Timestamp("2026-11-02T16:00:00Z").timestamp() * 1000)
    elderly = _history(tracking, run1, metric_name("champion", "elderly", "ctr"))
    assert [value for _, value, _ in elderly] == [pytest.approx(1 / 6), pytest.approx(2 / 6)]
    assert _history(tracking, run2, metric_name("challenger", "all", "impressions"))[0][1] == 18
    day_two = online_metrics(store.served(), store.events(), since=day2, until=day3).set_index("model_version")
    assert _history(tracking, run2, metric_name("challenger", "all", "ctr"))[0][1] == day_two.loc["2", "ctr"]
    client = MlflowClient(tracking_uri=tracking)
    assert client.get_run(run1).data.tags["linli.online.logged_through"] == "2026-11-03"
    points = first.points
    assert points > 0 and first.to_json()["points"] == points

    again = monitor(store, tracking, name, now=now, settle=SETTLE, personas=personas)
    assert again.points == 0
    assert {v.model_version: v.already_logged_days for v in again.versions} == {"1": 2, "2": 1}
    assert _history(tracking, run1, metric_name("champion", "all", "ctr")) == ctr  # nothing twice

    _serve_day(store, day3 + timedelta(days=1))  # the next day's lists; day 3 is now final
    later = monitor(store, tracking, name, now=now + timedelta(days=1), settle=SETTLE, personas=personas)
    assert {v.model_version: v.logged_days for v in later.versions} == {"1": ["2026-11-04"], "2": []}
    steps = [step for step, _, _ in _history(tracking, run1, metric_name("champion", "all", "ctr"))]
    assert steps == [day_step(pd.Timestamp(d)) for d in (DAY1, day2, day3)]
    assert _history(tracking, run1, metric_name("champion", "all", "ctr"))[-1][1] == 6 / 18
    assert len(_history(tracking, run1, MARKER)) == 3


def test_a_half_logged_day_is_completed_without_duplicates(tmp_path: Path, tracking: str) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    store.create_schema()
    name, (run1,) = _register(tracking, versions=1)
    _serve_day(store, DAY1)
    step, stamp = day_step(pd.Timestamp(DAY1)), day_end_ms(pd.Timestamp(DAY1))
    client = MlflowClient(tracking_uri=tracking)
    key = metric_name("champion", "all", "lists")
    client.log_batch(run1, metrics=[Metric(key, 6.0, stamp, step)])  # a monitor that died before its marker
    report = monitor(store, tracking, name, now=DAY1 + timedelta(days=3), persona_alias=None)
    assert report.versions[0].logged_days == ["2026-11-02"]
    assert _history(tracking, run1, key) == [(step, 6.0, stamp)]
    assert len(_history(tracking, run1, metric_name("champion", "all", "ctr"))) == 1
    assert report.personas == "none"


def test_unknown_versions_and_old_days_are_reported_not_logged(tmp_path: Path, tracking: str) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    store.create_schema()
    name, (run1,) = _register(tracking, versions=1)
    _serve_day(store, DAY1, version="7")
    _serve_day(store, DAY1 - timedelta(days=40))  # outside the 30-day window
    report = monitor(store, tracking, name, now=DAY1 + timedelta(days=2))  # default settle: one day
    assert [(v.model_version, v.skipped) for v in report.versions] == [
        ("7", f"version 7 of {name} is not in the registry")]
    assert MlflowClient(tracking_uri=tracking).get_run(run1).data.metrics == {}
    assert report.personas.startswith("none") and "alias 'champion'" in report.personas
    assert "skipped" in report.table()


def test_linli_monitor_command(tmp_path: Path, tracking: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from linli.cli import app

    database = f"sqlite:///{tmp_path / 'feedback.db'}"
    store = FeedbackStore(database)
    store.create_schema()
    name, (run1,) = _register(tracking, versions=1)
    yesterday = now_local().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    _serve_day(store, yesterday)
    monkeypatch.setenv("LINLI_MLFLOW_TRACKING_URI", tracking)
    monkeypatch.setenv("LINLI_MODEL_NAME", name)
    result = CliRunner().invoke(app, ["monitor", "--store", database, "--json", "--settle-hours", "0"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["points"] > 0 and report["versions"][0]["run_id"] == run1
    text = CliRunner().invoke(app, ["monitor", "--store", database, "--settle-hours", "0"])
    assert text.exit_code == 0 and "logged 0 points" in text.output
