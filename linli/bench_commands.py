"""``linli bench …``: the benchmarks behind the README's figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from features.errors import LinliDataError
from linli.common import JsonOption, app, fail
from linli.settings import get_settings

bench = typer.Typer(help="Benchmarks (figures for the README).", no_args_is_help=True)
app.add_typer(bench, name="bench")


@bench.command("foundation")
def bench_foundation(
    sizes: Annotated[str, typer.Option(help="Comma-separated community sizes (residents).")] = "10000,100000",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    as_json: JsonOption = False,
) -> None:
    """Time generate → load → features → personas, with peak memory, for each size (one process each)."""
    from experiments.foundation_bench import format_table, run

    report = run(_sizes(sizes), seed)
    typer.echo(json.dumps(report) if as_json else f"{report['cores']} cores\n" + format_table(report))


@bench.command("train")
def bench_train(
    sizes: Annotated[str, typer.Option(help="Comma-separated community sizes (residents).")] = "20000",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    seeds: Annotated[str | None, typer.Option(help="Comma-separated seeds, one community each, with the persona "
                                                   "floor over them (overrides --seed).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Train on generated communities: quality against the targets, time and peak memory (one process each)."""
    from experiments.train_bench import format_report, run

    size_list = _sizes(sizes)
    report = run(size_list, seed, _seeds(seeds) if seeds is not None else None)
    typer.echo(json.dumps(report) if as_json else f"{report['cores']} cores\n" + format_report(report))


@bench.command("movielens")
def bench_movielens(
    seeds: Annotated[str, typer.Option(help="Comma-separated split seeds.")] = "42,1,2",
    data: Annotated[Path | None, typer.Option("--data", help="Folder of RecBole atomic files (NAME.inter, "
                                                             "NAME.user, NAME.item); default MovieLens-100K.")] = None,
    cache: Annotated[Path | None, typer.Option(help="Cache of MovieLens-100K (default <data_dir>/cache).")] = None,
    quick: Annotated[bool, typer.Option(help="Smoke run: three models, one grid point each, a small ranker.")] = False,
    as_json: JsonOption = False,
) -> None:
    """MovieLens on the published protocol (Microsoft Recommenders): baselines tuned on validation + the hybrid."""
    from experiments.movielens_bench import format_report, load, run

    settings = get_settings()
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError as exc:
        raise fail(f"--seeds must be comma-separated integers, got {seeds!r}") from exc
    if not seed_list:
        raise fail("--seeds needs at least one seed")
    try:
        dataset, name = load(data, cache or settings.data_dir / "cache")
    except LinliDataError as exc:
        raise fail(str(exc)) from exc
    report = run(dataset, seed_list, data_name=name, tracking_uri=settings.tracking_uri(),
                 artifact_location=settings.artifact_location(), quick=quick)
    typer.echo(json.dumps(report, default=str) if as_json else format_report(report))


@bench.command("realdata")
def bench_realdata(
    windows: Annotated[int, typer.Option(help="Consecutive held-out windows, ending at the last interaction.")] = 4,
    weeks: Annotated[int, typer.Option(help="Length of each window in weeks.")] = 4,
    data: Annotated[Path | None, typer.Option("--data", help="Folder of RecBole atomic files (NAME.inter, "
                                                             "NAME.user, NAME.item); default MovieLens-100K.")] = None,
    cache: Annotated[Path | None, typer.Option(help="Cache of MovieLens-100K (default <data_dir>/cache).")] = None,
    config: Annotated[Path | None, typer.Option(help="Training config TOML (default: linli train's).")] = None,
    validation: Annotated[int, typer.Option(help="Score this many windows that end where the test windows begin "
                                                 "(test weeks removed first), to choose a config.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Real data, time split: every model on consecutive windows, pooled and per cohort, ratios to popularity."""
    from experiments.movielens_bench import load
    from experiments.realdata_bench import RealDataBenchError, run
    from experiments.realdata_report import format_report
    from training.config import TrainConfig, TrainConfigError
    from training.splits import SplitError

    settings = get_settings()
    if windows < 1 or weeks < 1 or validation < 0:
        raise fail(f"--windows and --weeks must be ≥ 1 and --validation ≥ 0, got {windows}, {weeks}, {validation}")
    try:
        train_config = TrainConfig.from_toml(config) if config else TrainConfig.from_toml()
        dataset, name = load(data, cache or settings.data_dir / "cache")
        report = run(dataset, windows=windows, weeks=weeks, config=train_config, data_name=name, validation=validation,
                     tracking_uri=settings.tracking_uri(), artifact_location=settings.artifact_location())
    except (LinliDataError, TrainConfigError, RealDataBenchError, SplitError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(report, default=str) if as_json else format_report(report))


@bench.command("scale")
def bench_scale(
    sizes: Annotated[str, typer.Option(help="Comma-separated community sizes (residents).")] = "100000",
    engine: Annotated[str, typer.Option(help="Comma-separated engines: local, dask.")] = "dask,local",
    workers: Annotated[int, typer.Option(min=1, help="dask: LocalCluster worker processes.")] = 2,
    memory_limit: Annotated[str, typer.Option(help="dask: memory of each worker.")] = "6GiB",
    budget: Annotated[str, typer.Option(help="Memory a local run may take; a size the measured trend puts "
                                             "past it is reported as not fitting instead of run.")] = "24GiB",
    seed: Annotated[int, typer.Option(help="Random seed of the communities and the models.")] = 42,
    as_json: JsonOption = False,
) -> None:
    """Train per engine and size (each in a fresh process): time and peak memory per stage and process, NDCG@10."""
    from dask.utils import parse_bytes

    from experiments.scale_train_bench import format_report, run

    engines = [e.strip() for e in engine.split(",") if e.strip()]
    if not engines or set(engines) - {"local", "dask"}:
        raise fail(f"--engine must list local and/or dask, got {engine!r}")
    try:
        budget_mib = parse_bytes(budget) / 2**20
    except ValueError as exc:
        raise fail(f"--budget {budget!r}: not a size; write e.g. 24GiB") from exc
    report = run(_sizes(sizes), engines, workers, memory_limit, seed, budget_mib)
    typer.echo(json.dumps(report) if as_json else format_report(report))


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise fail(f"--seeds must be comma-separated integers, got {text!r}") from exc
    if not seeds or len(set(seeds)) != len(seeds):
        raise fail(f"--seeds needs at least one seed and no seed twice, got {text!r}")
    return seeds


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise fail(f"--sizes must be comma-separated integers, got {text!r}") from exc
    if not sizes or min(sizes) < 1:
        raise fail(f"--sizes needs at least one positive size, got {text!r}")
    return sizes
