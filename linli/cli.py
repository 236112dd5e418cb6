"""The ``linli`` command line: one command per job (the feedback-loop and benchmark commands live in
:mod:`linli.loop_commands` and :mod:`linli.bench_commands`)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import typer
from tqdm import tqdm

from features.errors import LinliDataError
from linli.common import (
    DataOption,
    JsonOption,
    NowOption,
    app,
    fail,
    feedback_store_url,
    parse_now,
    stray_rows_reported,
)
from linli.scale_commands import EngineOption, MemoryLimitOption, SchedulerOption, WorkersOption
from linli.serve_command import serve_api
from linli.settings import get_settings

if TYPE_CHECKING:
    from training.config import TrainConfig
    from training.feedback_data import FeedbackLog

@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the Parquet tables into.")],
    residents: Annotated[int, typer.Option(min=1, help="Number of residents.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same community).")] = 42,
    weeks: Annotated[int, typer.Option(min=1, max=520, help="Weeks of interaction history.")] = 26,
    persona_definitions: Annotated[str, typer.Option(
        help="What the community counts as each persona: default, other_city (migrant = floating or < 12 months "
             "here, commuting latent, job seekers look for work) or a TOML file; ground_truth.parquet follows it.")
    ] = "default",
    partitioned: Annotated[bool, typer.Option(
        "--partitioned", help="Write residents/part-*.parquet and interactions/month=YYYY-MM/part-*.parquet "
                              "(the form the dask engine reads part by part) instead of single files.")] = False,
) -> None:
    """Generate a synthetic smart community as Parquet files (plus ground_truth.parquet, read by no model)."""
    from features.sources.synthetic import generate_community
    from features.sources.synthetic.definitions import DefinitionsError, load_definitions

    try:
        definitions = load_definitions(persona_definitions)
    except DefinitionsError as exc:
        raise fail(str(exc)) from exc

    started = time.perf_counter()
    with tqdm(total=2, desc="generate", unit="step", disable=None) as bar:
        community = generate_community(residents=residents, seed=seed, weeks=weeks, definitions=definitions)
        bar.update()
        try:
            community.write(out)
            if partitioned:
                from features.sources.partitioned import write_partitioned_folder

                write_partitioned_folder(community.frames, out)
        except OSError as exc:  # a file in the way, no permission, a full disk
            raise fail(f"--out {out}: cannot write the tables there ({exc.strerror or exc}); "
                       "give a folder Linli may create or write into") from exc
        bar.update()
    counts = {name: len(frame) for name, frame in community.frames.items()}
    typer.echo(f"wrote {out}: " + ", ".join(f"{n:,} {name}" for name, n in counts.items())
               + f" in {time.perf_counter() - started:.1f} s")


@app.command()
def demo(
    residents: Annotated[int | None, typer.Option(help="Residents in the demo community.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="End by serving the API.")] = True,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the API.")] = 8000,
) -> None:
    """The main job: synthetic community → features → personas → training in MLflow → the API on 127.0.0.1."""
    from features.sources import load_folder
    from features.sources.synthetic import generate_community, read_ground_truth
    from profiling import profile_dataset, summary
    from training.config import TrainConfig
    from training.retrain import train as run_training

    settings = get_settings()
    residents = residents or settings.demo_residents
    seed = settings.seed if seed is None else seed
    folder = settings.data_dir / f"community-{residents}-seed{seed}"
    steps = ["generate", "load + validate", "features + personas", "train + evaluate + register"]
    with tqdm(steps, desc="linli demo", unit="step", disable=None) as bar:
        for step in bar:
            bar.set_postfix_str(step)
            if step == "generate":
                generate_community(residents=residents, seed=seed).write(folder)
            elif step == "load + validate":
                dataset = exclude_erased(load_folder(folder), None)
            elif step == "features + personas":
                result = profile_dataset(dataset, seed=seed)
            else:
                trained = run_training(dataset, tracking_uri=settings.tracking_uri(), model_name=settings.model_name,
                                       config=TrainConfig.from_toml().with_seed(seed),
                                       artifact_location=settings.artifact_location())
    report = summary(result, read_ground_truth(folder))
    typer.echo(f"\ncommunity: {folder} ({dataset.summary()})")
    typer.echo("personas: " + ", ".join(f"{k} {v:,}" for k, v in report["personas"].items()))
    typer.echo(f"segments: {report['segments']}; community types: {report['community_types']}")
    if "recovery" in report:
        typer.echo(f"persona recovery vs ground truth: macro F1 {report['recovery']['macro_f1']:.3f}, "
                   f"segment ARI {report['recovery']['segment_ari']:.3f}")
    typer.echo(f"\ntrained {settings.model_name} version {trained.model_version} ({trained.alias}); "
               f"MLflow store {settings.tracking_uri()}")
    for reason in trained.decision:
        typer.echo(f"  gate: {reason}")
    typer.echo(_metrics_table(trained.metrics))
    typer.echo("\nsee the runs: linli mlflow-ui   (then open http://127.0.0.1:5000)")
    if serve_api:
        typer.echo(f"planner page: open http://127.0.0.1:{port}/planner and sign in with the planner key "
                   "(shown below at the first start, else from LINLI_API_KEYS or `linli keys new --role planner`). "
                   "Starting the API; Ctrl-C stops it.\n")
        _serve("127.0.0.1", port)


@app.command()
def train(
    data: DataOption,
    as_json: JsonOption = False,
    config: Annotated[Path | None, typer.Option(help="Training config TOML (default training/default.toml).")
                      ] = None,
    seed: Annotated[int | None, typer.Option(help="Override every seed in the config.")] = None,
    feedback: Annotated[str | None, typer.Option(
        help="Feedback store URL to learn from (served lists and events); default: the API's store "
             "(LINLI_DATABASE_URL, else <data_dir>/feedback.db) when it exists. 'none' trains without feedback.")
    ] = None,
    now: NowOption = None,
    personas: Annotated[Path | None, typer.Option(
        help="Profiling TOML with the persona thresholds (e.g. from `linli profile calibrate`), used for the "
             "per-persona evaluation, persona_popular and the bundle's profile; default: the shipped one.")
    ] = None,
    planner_epsilon: Annotated[str | None, typer.Option(
        help="Release the bundle's planner tables with differential privacy at this ε (overrides "
             "LINLI_PLANNER_EPSILON; needs LINLI_PLANNER_NOISE_KEY; see docs/privacy.md).")] = None,
    engine: EngineOption = "local",
    workers: WorkersOption = 2,
    memory_limit: MemoryLimitOption = "2GiB",
    scheduler: SchedulerOption = None,
) -> None:
    """Retrain: features → personas → candidates → ranker → evaluation → MLflow run → registered version → gate."""
    from privacy.dp import EPSILON_SETTING, PlannerPrivacyError, planner_dp

    if planner_epsilon is not None:
        os.environ[EPSILON_SETTING] = planner_epsilon  # the profile reads the setting where it builds the reports
    try:
        planner_dp("check")  # a bad ε or a missing noise key fails now, not after the training run
    except PlannerPrivacyError as exc:
        raise fail(str(exc)) from exc
    if engine == "dask":
        from linli.scale_commands import train_with_dask

        report = train_with_dask(data, config=config, seed=seed, feedback=feedback, now=parse_now(now),
                                 personas=personas, workers=workers, memory_limit=memory_limit, scheduler=scheduler)
        metrics: dict[str, dict[str, object]] = report["metrics"]  # type: ignore[assignment]
        typer.echo(json.dumps(report, ensure_ascii=False, default=str) if as_json else _metrics_table(metrics))
        return
    if engine != "local":
        raise fail(f"--engine {engine}: use local or dask")
    from features.sources import load
    from profiling import ProfilingConfigError, load_config
    from recommenders.errors import NotEnoughHistoryError
    from training.config import TrainConfig, TrainConfigError
    from training.retrain import train as run_training
    from training.splits import SplitError

    settings = get_settings()
    stated_now = parse_now(now)
    try:
        profiling = load_config(personas) if personas is not None else None
        cfg = TrainConfig.from_toml(config) if config else TrainConfig.from_toml()
        with stray_rows_reported():
            dataset = load(data, now=stated_now)
        dataset = exclude_erased(dataset, feedback)  # the erasure ledger (PIPL art. 47)
        log = _feedback_log(feedback)
    except (LinliDataError, TrainConfigError, ProfilingConfigError) as exc:
        raise fail(str(exc)) from exc
    if seed is not None:
        cfg = cfg.with_seed(seed)
    if personas is not None:
        cfg = _with_personas(cfg, personas)
    with tqdm(desc="linli train", unit="stage", disable=None) as bar, stray_rows_reported():
        def progress(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update()

        try:
            result = run_training(dataset, tracking_uri=settings.tracking_uri(), model_name=settings.model_name,
                                  config=cfg, artifact_location=settings.artifact_location(), progress=progress,
                                  feedback=log, now=stated_now, profiling=profiling)
        except (SplitError, NotEnoughHistoryError, LinliDataError) as exc:
            raise fail(str(exc)) from exc
    from linli.security_commands import record_alias_move

    record_alias_move(None if feedback == "none" else feedback, settings.model_name, result.alias,
                      result.model_version)
    report = result.to_json()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, default=str))
        return
    typer.echo(f"run {result.run_id} → {settings.model_name} version {result.model_version} ({result.alias})")
    if result.feedback:
        typer.echo("feedback: " + ", ".join(f"{k} {v:,}" for k, v in result.feedback.items()))
    if any(result.dropped.values()):
        typer.echo("dropped (out of time): " + ", ".join(f"{k} {v:,}" for k, v in result.dropped.items()))
    for reason in result.decision:
        typer.echo(f"  gate: {reason}")
    typer.echo(_metrics_table(result.metrics))


def _with_personas(cfg: TrainConfig, personas: Path) -> TrainConfig:
    """The config with ``persona_popular`` reading its persona thresholds from ``personas``."""
    generators = {name: dict(params) for name, params in cfg.hybrid.generators.items()}
    if "persona_popular" in generators:
        generators["persona_popular"]["profiling_config"] = str(personas)
    return cfg.model_copy(update={"hybrid": cfg.hybrid.model_copy(update={"generators": generators})})


def _feedback_log(url: str | None) -> FeedbackLog | None:
    """The feedback store's served lists, events and requests, or ``None`` (no store, or ``--feedback none``)."""
    from privacy.encryption import DecryptionError, EncryptionKeyError
    from serving.settings import ServingSettings
    from serving.store import FeedbackStore, StoreUnavailableError
    from training.feedback_data import FeedbackLog

    if url is not None and url.lower() == "none":
        return None
    url, exists = feedback_store_url(url)
    if not exists:
        if url == ServingSettings().store_url():
            return None  # no API has served yet: nothing to learn from
        raise LinliDataError(f"--feedback {url}: no such database file")
    try:
        with FeedbackStore(url) as store:
            return FeedbackLog(store.served(), store.events(), store.requests())
    except (StoreUnavailableError, DecryptionError, EncryptionKeyError) as exc:  # a wrong or missing SM4 key too
        raise LinliDataError(f"--feedback {url}: {exc}") from exc


def _metrics_table(metrics: dict[str, dict[str, object]]) -> str:
    keys = ["ndcg@10", "map@10", "recall@10", "precision@10", "coverage", "novelty", "category_diversity",
            "cold_start_ndcg@10"]
    lines = ["model            " + " ".join(f"{k:>18}" for k in keys)]
    for name, values in metrics.items():
        cells = [values.get(k) for k in keys]
        lines.append(f"{name:16} " + " ".join(f"{c:>18.4f}" if isinstance(c, float) else f"{'':>18}" for c in cells))
    return "\n".join(lines)


@app.command("mlflow-ui")
def mlflow_ui(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000) -> None:
    """Open the MLflow UI on Linli's tracking store (http://127.0.0.1:PORT)."""
    import subprocess
    import sys

    uri = get_settings().tracking_uri()
    typer.echo(f"MLflow UI on http://127.0.0.1:{port} for {uri} (Ctrl-C stops it)")
    raise typer.Exit(subprocess.call([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
                                      "--host", "127.0.0.1", "--port", str(port)]))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    ssl_certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM); with --ssl-keyfile, serve HTTPS.")
                            ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM) of --ssl-certfile.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes on this machine (they share the "
                                         "store, rate limits, sign-ins, reloads and /metrics).")] = 1,
) -> None:
    """Serve the champion over HTTP: recommendations, feedback, personas, segments, models (Ctrl-C stops it)."""
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise fail("give both --ssl-certfile and --ssl-keyfile, or neither")
    for option, path in (("--ssl-certfile", ssl_certfile), ("--ssl-keyfile", ssl_keyfile)):
        if path is not None and not path.is_file():
            raise fail(f"{option} {path}: no such file")
    serve_api(host, port, workers=workers, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)


def _serve(host: str, port: int) -> None:
    """The API for ``linli demo``: one process, text logs (a person watches them)."""
    serve_api(host, port, log_json=False)


# The other command groups register themselves on ``app`` when imported (after the commands above, so
# ``linli --help`` lists them in this order).
from linli import (  # noqa: E402, F401
    bench_commands,
    experiment_commands,
    loop_commands,
    privacy_commands,
    profile_commands,
    request_commands,
    security_commands,
)
from linli.privacy_commands import exclude_erased  # noqa: E402


def main() -> None:
    """Entry point for ``linli`` and ``python -m linli``: files and folders it creates are private (umask 077).

    Feedback stores, bundles, caches and reports hold personal data, so nothing Linli writes is readable by other
    users of the machine; the modules that write such files also set 600/700 themselves.
    """
    os.umask(0o077)
    app()
