"""``linli profile``: resident profiles (plain invocation) and ``linli profile calibrate`` (persona thresholds
fitted to a community's own definitions from labelled residents)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from features.errors import LinliDataError
from linli.common import JsonOption, NowOption, app, fail, parse_now, stray_rows_reported
from linli.scale_commands import EngineOption, MemoryLimitOption, SchedulerOption, WorkersOption

PersonasOption = Annotated[Path | None, typer.Option(
    "--personas", help="Profiling TOML with the persona thresholds (e.g. from `linli profile calibrate`); "
                       "default: the shipped profiling/personas.toml.")]

profile_app = typer.Typer(help="Build resident personas, segments and community types; calibrate the personas.",
                          invoke_without_command=True, no_args_is_help=False)
app.add_typer(profile_app, name="profile")


@profile_app.callback()
def profile(
    ctx: typer.Context,
    data: Annotated[str | None, typer.Option("--data", help="Folder of CSV/Parquet tables, or a database URL.")
                    ] = None,
    as_json: JsonOption = False,
    seed: Annotated[int, typer.Option(help="Seed of the segment clustering.")] = 42,
    personas: PersonasOption = None,
    now: NowOption = None,
    engine: EngineOption = "local",
    workers: WorkersOption = 2,
    memory_limit: MemoryLimitOption = "2GiB",
    scheduler: SchedulerOption = None,
) -> None:
    """Build resident personas, learned segments and community types; report recovery when truth exists.

    `linli profile --data DIR` profiles; `linli profile calibrate ...` fits the persona thresholds.
    """
    if ctx.invoked_subcommand is not None:
        return
    if data is None:
        raise fail("missing option '--data': the folder or database URL to profile")
    if engine not in ("local", "dask"):
        raise fail(f"--engine {engine}: use local or dask")
    if engine == "dask":
        from linli.scale_commands import profile_with_dask

        report = profile_with_dask(data, seed=seed, personas=personas, now=parse_now(now), workers=workers,
                                   memory_limit=memory_limit, scheduler=scheduler)
        typer.echo(json.dumps(report, ensure_ascii=False, indent=None if as_json else 2))
        return
    from features.sources import load
    from features.sources.synthetic import read_ground_truth
    from profiling import ProfilingConfigError, load_config, profile_dataset, summary

    try:
        config = load_config(personas)
        with stray_rows_reported():
            dataset = load(data, now=parse_now(now))
        if dataset.residents.empty:
            raise LinliDataError(f"{data}: no residents; profiling needs at least one row in the residents table")
    except (LinliDataError, ProfilingConfigError) as exc:
        raise fail(str(exc)) from exc
    result = profile_dataset(dataset, seed=seed, config=config)
    truth = read_ground_truth(data) if "://" not in data else None
    report = {**summary(result, truth), "dropped": dataset.dropped}
    typer.echo(json.dumps(report, ensure_ascii=False, indent=None if as_json else 2))


@profile_app.command()
def calibrate(
    data: Annotated[str, typer.Option("--data", help="Folder of CSV/Parquet tables, or a database URL.")],
    labels: Annotated[Path, typer.Option(help="CSV of resident_id, personas (';'-joined; empty = none applies).")],
    out: Annotated[Path, typer.Option(help="Where to write the calibrated profiling TOML.")],
    personas: PersonasOption = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the folds, LightGBM and the bootstrap.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Fit the persona thresholds to labelled residents; report F1 before, after and the supervised ceiling."""
    from features.sources import load
    from profiling import ProfilingConfigError, default_cutoff, load_config
    from profiling.calibrate import calibrate as run_calibration
    from profiling.features import profiling_features
    from profiling.labels import read_labels
    from profiling.writer import write_config

    try:
        config = load_config(personas)
        dataset = load(data)
        truth = read_labels(labels, dataset.residents["resident_id"].astype(str))
    except (LinliDataError, ProfilingConfigError) as exc:
        raise fail(str(exc)) from exc
    features = profiling_features(dataset, default_cutoff(dataset))
    result = run_calibration(features, truth, config.personas, folds=folds, seed=seed)
    calibrated = config.model_copy(update={"personas": result.config})
    write_config(calibrated, out, result, source=str(labels))
    report = {**result.to_dict(), "out": str(out)}
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    typer.echo(f"{result.labels} labelled residents, {folds}-fold cross-validation; F1 [95% bootstrap interval]")
    typer.echo(f"{'persona':22}{'before':>22}{'after':>22}{'ceiling (LightGBM)':>22}")
    for persona in result.before:
        cells = [f"{getattr(result, n)[persona]:.3f} [{result.intervals[n][persona][0]:.2f}, "
                 f"{result.intervals[n][persona][1]:.2f}]" for n in ("before", "after", "ceiling")]
        typer.echo(f"{persona:22}" + "".join(f"{c:>22}" for c in cells))
    macro = result.macro()
    typer.echo(f"{'macro F1':22}" + "".join(f"{macro[n]:>22.3f}" for n in ("before", "after", "ceiling")))
    for key, (old, new) in result.changed.items():
        typer.echo(f"  {key}: {old} → {new}")
    typer.echo(f"wrote {out}; use it with `linli profile --personas {out}` and `linli train --personas {out}`")
