"""The feedback-loop commands: ``linli simulate``, ``linli monitor`` and ``linli ab-report``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from features.errors import LinliDataError
from linli.common import JsonOption, StoreOption, app, fail, feedback_store_url
from linli.settings import get_settings


@app.command()
def simulate(
    data: Annotated[Path, typer.Option("--data", help="A community folder written by `linli generate`.")],
    days: Annotated[int, typer.Option(min=1, help="Simulated days (Linli retrains after each but the last).")] = 5,
    url: Annotated[str | None, typer.Option(help="A running Linli API (keys from LINLI_API_KEYS, stores from "
                                                 "LINLI_MLFLOW_TRACKING_URI and LINLI_DATABASE_URL); default: "
                                                 "start one on a free loopback port.")] = None,
    residents_per_day: Annotated[int, typer.Option(min=1, help="Residents asking for a list each day.")] = 2000,
    history_weeks: Annotated[int, typer.Option(min=1, help="Weeks of the community's logs Linli starts with.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the simulated residents and of training.")] = 42,
    needs_per_visit: Annotated[int, typer.Option(min=1, help="Services a resident looks for per visit.")] = 3,
    config: Annotated[Path | None, typer.Option(help="Training config TOML (default "
                                                     "experiments/configs/simulate.toml).")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Data folder of the API started here (MLflow, feedback "
                                                      "store); default a temporary folder.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Closed loop: synthetic residents ask the API, react by their true preferences, send feedback; Linli retrains
    nightly through the promotion gate. Prints per-day online metrics."""
    from experiments.simulated_residents import GroundTruthError
    from experiments.simulator import (
        SIMULATE_CONFIG,
        SimulationConfig,
        SimulationError,
        format_report,
        parse_keys,
        run,
    )
    from serving.settings import ServingSettings
    from training.config import TrainConfigError

    serving = ServingSettings()
    keys = parse_keys(serving.api_keys.get_secret_value()) if url and serving.api_keys else {}
    options = SimulationConfig(data=data, days=days, residents_per_day=residents_per_day, history_weeks=history_weeks,
                               seed=seed, needs_per_visit=needs_per_visit, url=url, keys=keys, workdir=workdir,
                               train_config=config or SIMULATE_CONFIG,
                               tracking_uri=serving.tracking_uri() if url else None,
                               store_url=serving.store_url() if url else None, model_name=get_settings().model_name)
    try:
        report = run(options, progress=None if as_json else typer.echo)
    except (SimulationError, GroundTruthError, LinliDataError, TrainConfigError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(report, ensure_ascii=False, default=str) if as_json else "\n" + format_report(report))




def _feedback_store(url: str | None) -> object:
    """The feedback store at ``url`` (default the API's), refusing a SQLite file that does not exist."""
    from serving.store import FeedbackStore

    url, exists = feedback_store_url(url)
    if not exists:
        raise fail(f"--store {url}: no such database file (it appears once the API has served a list)")
    return FeedbackStore(url)


@app.command()
def monitor(
    store: StoreOption = None,
    window: Annotated[int, typer.Option(min=1, help="Days to look back.")] = 30,
    settle_hours: Annotated[float, typer.Option(
        min=0, help="Hours after a day ends until its feedback is complete and it is logged (once).")] = 24,
    as_json: JsonOption = False,
) -> None:
    """Online metrics (CTR, booking, use, rating, coverage) per model version, variant and persona, logged per day
    to each version's MLflow run. Incremental and idempotent: run it as often as you like."""
    from datetime import timedelta

    from serving.store import StoreUnavailableError
    from training.monitor import monitor as run_monitor

    settings = get_settings()
    try:
        with _feedback_store(store) as opened:  # type: ignore[attr-defined]
            report = run_monitor(opened, settings.tracking_uri(), settings.model_name, window=timedelta(days=window),
                                 settle=timedelta(hours=settle_hours))
    except StoreUnavailableError as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False) if as_json else report.table())


@app.command("ab-report")
def ab_report(
    store: StoreOption = None,
    metric: Annotated[str, typer.Option(help="Metric of the verdict: ctr, booking_rate, use_rate or mean_rating.")
                      ] = "ctr",
    since: Annotated[str | None, typer.Option(help="Only lists served from then (Asia/Shanghai), e.g. 2026-11-01."
                                              )] = None,
    until: Annotated[str | None, typer.Option(help="Only lists served before then.")] = None,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence of the intervals.")] = 0.95,
    min_residents: Annotated[int, typer.Option(min=2, help="Fewest residents per variant for a verdict.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Compare the A/B variants (challenger vs champion) on online metrics, with intervals and a verdict."""
    import pandas as pd

    from serving.store import StoreUnavailableError
    from training.ab_report import ab_report as run_report
    from training.online_metrics import OnlineMetricsError

    try:
        start = pd.Timestamp(since) if since else None
        end = pd.Timestamp(until) if until else None
    except ValueError as exc:
        raise fail(f"--since/--until must be dates or ISO times: {exc}") from exc
    try:
        with _feedback_store(store) as opened:  # type: ignore[attr-defined]
            served, events = opened.served(start), opened.events(start)
        report = run_report(served, events, metric=metric, confidence=confidence, min_residents=min_residents,
                            since=start, until=end)
    except (StoreUnavailableError, OnlineMetricsError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False) if as_json else report.table())
