"""``linli experiment …``: variants and hyper-parameter searches as MLflow runs, scored on validation windows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from features.errors import LinliDataError
from linli.common import JsonOption, app, fail
from linli.settings import get_settings

experiment = typer.Typer(help="Experiments as MLflow runs: run variants, compare them, tune settings.",
                         no_args_is_help=True)
app.add_typer(experiment, name="experiment")

SeedsOption = Annotated[str, typer.Option(help="Comma-separated seeds: synthetic communities, or model seeds "
                                               "with --data.")]
DataOpt = Annotated[str | None, typer.Option("--data", help="Folder or database URL; default: a synthetic "
                                                            "community per seed.")]
ResidentsOption = Annotated[int, typer.Option(min=100, help="Residents of each synthetic community.")]


@experiment.command("run")
def experiment_run(
    configs: Annotated[list[Path], typer.Argument(help="Variant TOML files (only what differs from the shipped "
                                                       "config); the first is the baseline of `compare`.")],
    seeds: SeedsOption = "1,2,3",
    data: DataOpt = None,
    residents: ResidentsOption = 20_000,
    window: Annotated[str, typer.Option(help="'validation' (default: the test weeks are cut off first) or "
                                             "'test' (report figures once the choice is made).")] = "validation",
    models: Annotated[str, typer.Option(help="Comma-separated: hybrid and/or single models to score.")] = "hybrid",
    as_json: JsonOption = False,
) -> None:
    """Score every variant on every seed: one parent MLflow run with a child run per (variant, seed)."""
    from training.config import TrainConfigError
    from training.experiment import ExperimentData, ExperimentError, compare_experiment, run_experiment
    from training.variants import load_variant

    settings = get_settings()
    names = [c.stem for c in configs]
    if len(set(names)) != len(names):
        raise fail(f"variant names (file stems) must differ, got {names}")
    try:
        variants = {c.stem: load_variant(c) for c in configs}
        result = run_experiment(variants, _seeds(seeds), ExperimentData(data, residents),
                                tracking_uri=settings.tracking_uri(), artifact_location=settings.artifact_location(),
                                window=window, models=[m.strip() for m in models.split(",") if m.strip()],  # type: ignore[arg-type]
                                progress=lambda label: typer.echo(f"… {label}", err=True))
        comparison = compare_experiment(result.parent_run_id, tracking_uri=settings.tracking_uri())
    except (TrainConfigError, ExperimentError, LinliDataError, KeyError) as exc:
        raise fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps({"parent_run_id": result.parent_run_id, "window": window,
                               "comparison": comparison.rows}, default=str))
        return
    typer.echo(f"experiment run {result.parent_run_id} ({window} window)\n{comparison.table()}")


@experiment.command("compare")
def experiment_compare(
    parent_run: Annotated[str, typer.Argument(help="The parent run id printed by `linli experiment run`.")],
    metric: Annotated[str, typer.Option(help="Metric of the child runs, as model.metric.")] = "hybrid.ndcg@10",
    as_json: JsonOption = False,
) -> None:
    """Mean and 95 % interval over seeds per variant, and the paired difference to the baseline; logged on the run."""
    from training.experiment import ExperimentError, compare_experiment

    try:
        comparison = compare_experiment(parent_run, tracking_uri=get_settings().tracking_uri(), metric=metric)
    except ExperimentError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps({"parent_run_id": parent_run, "metric": metric, "baseline": comparison.baseline,
                               "rows": comparison.rows}, default=str))
        return
    typer.echo(comparison.table())


@experiment.command("tune")
def experiment_tune(
    config: Annotated[Path, typer.Argument(help="Base variant TOML (only what differs from the shipped config).")],
    space: Annotated[Path, typer.Option(help="Search space TOML: [dotted.path] tables with low/high or choices.")],
    trials: Annotated[int, typer.Option(min=1, help="Number of Optuna trials.")] = 20,
    seeds: SeedsOption = "1,2,3",
    data: DataOpt = None,
    residents: ResidentsOption = 20_000,
    out: Annotated[Path | None, typer.Option(help="Write the best variant here (TOML, differences only).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Search settings with Optuna on validation windows only (never the test window); trials are child runs."""
    from training.config import TrainConfigError
    from training.experiment import ExperimentData, ExperimentError
    from training.tuning import read_space, tune
    from training.variants import load_variant, variant_toml

    settings = get_settings()
    try:
        base = load_variant(config)
        result = tune(base, read_space(space), trials, _seeds(seeds), ExperimentData(data, residents),
                      tracking_uri=settings.tracking_uri(), artifact_location=settings.artifact_location(),
                      progress=lambda label: typer.echo(f"… {label}", err=True))
    except (TrainConfigError, ExperimentError, LinliDataError) as exc:
        raise fail(str(exc)) from exc
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(variant_toml(result.best_config), encoding="utf-8")
    report = {"parent_run_id": result.parent_run_id, "best_params": result.best_params,
              "best_validation_ndcg": result.best_value, "trials": result.trials, "out": str(out) if out else None}
    if as_json:
        typer.echo(json.dumps(report, default=str))
        return
    typer.echo(f"tune run {result.parent_run_id}: best validation NDCG {result.best_value:.4f} with "
               f"{result.best_params}" + (f"; written to {out}" if out else ""))


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise fail(f"--seeds must be comma-separated integers, got {text!r}") from exc
    if not seeds:
        raise fail("--seeds needs at least one seed")
    return seeds
