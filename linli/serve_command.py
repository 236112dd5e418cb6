"""How ``linli serve`` runs the API: one process, or N worker processes on one machine sharing what must be shared.

With ``--workers N`` (N > 1) uvicorn's supervisor starts N processes that each build the app from
``serving.app:create_app`` (the factory reads its settings from the environment) and accept on one socket.
Before they start, this process puts in the environment what every worker must agree on:

* ``LINLI_API_KEYS_FILE`` when the key file is the default one made here;
* ``LINLI_SESSION_SECRET`` (when unset: a random one for this run), so a planner signed in through one worker is
  signed in for all;
* ``LINLI_RATE_LIMIT_STORE`` (when unset: ``sqlite:///<data_dir>/rate_limits.db``), so a key's rate holds across
  the workers;
* ``PROMETHEUS_MULTIPROC_DIR`` (when unset: a fresh temporary folder, removed at exit), so ``/metrics`` sums every
  worker.

A/B assignment and exploration are pure functions of ids, the feedback store and sign-outs are in the database, and
a reload reaches every worker through the store (:mod:`serving.reload_sync`). ``docs/operations.md`` has more.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer

from linli.common import fail


def serve_api(
    host: str,
    port: int,
    *,
    workers: int = 1,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
    log_json: bool | None = None,
) -> None:
    """Serve until interrupted (see the module docstring).

    Parameters
    ----------
    host, port : str, int
    workers : int
        Server processes.
    ssl_certfile, ssl_keyfile : Path, optional
        Serve HTTPS.
    log_json : bool, optional
        JSON-line logs; default ``LINLI_LOG_JSON`` (on).
    """
    import uvicorn

    from serving.auth import ApiKeyConfigError, keys_from_settings, write_new_keys
    from serving.logging_json import log_config
    from serving.metrics import serve_metrics_port
    from serving.settings import ServingSettings

    settings = ServingSettings()
    if settings.api_keys is None and settings.api_keys_file is None:
        path = settings.data_dir / "api_keys"
        if not path.exists():
            made = write_new_keys(path)
            if sys.stdout.isatty():  # shown once on the operator's terminal, never written to a log file
                typer.echo("\n".join(f"  {role}: {key}" for role, key in made.items()))
            typer.echo(
                f"made one key per role in {path} (stored hashed): "
                + (
                    "shown above, once"
                    if sys.stdout.isatty()
                    else "no terminal to show them on; make a usable one "
                    "with `linli keys new --role ROLE` (a running server picks it up)"
                )
            )
        settings = settings.model_copy(update={"api_keys_file": path})
        os.environ["LINLI_API_KEYS_FILE"] = str(path)  # for the worker processes, which read the environment
        typer.echo(f"no LINLI_API_KEYS set: using the keys in {path} (`linli keys` manages them)")
    try:
        keys_from_settings(settings)
    except ApiKeyConfigError as exc:
        raise fail(str(exc)) from exc
    made_dir = _share_between_workers(settings) if workers > 1 else None
    json_lines = settings.log_json if log_json is None else log_json
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": log_config(json_lines),
        "ssl_certfile": str(ssl_certfile) if ssl_certfile else None,
        "ssl_keyfile": str(ssl_keyfile) if ssl_keyfile else None,
    }
    scheme = "https" if ssl_certfile else "http"
    typer.echo(
        f"Linli API on {scheme}://{host}:{port} ({workers} worker process{'es' if workers > 1 else ''}); "
        f"serving {settings.model_name}@{settings.model_alias} from {settings.tracking_uri()}; /ready says when"
    )
    if settings.metrics_port:
        serve_metrics_port(settings.metrics_port, settings.metrics_host)
        typer.echo(f"metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics (no key)")
    try:
        if workers > 1:  # a worker loading a model may hold the GIL for seconds: a patient health check
            uvicorn.run(
                "serving.app:create_app", factory=True, workers=workers, timeout_worker_healthcheck=60, **options
            )
        else:
            from serving.app import create_app

            uvicorn.run(create_app(settings), **options)
    finally:
        if made_dir is not None:
            shutil.rmtree(made_dir, ignore_errors=True)


def _share_between_workers(settings: Any) -> Path | None:
    """Put what the workers must share in the environment; returns a metrics folder made here (removed at exit)."""
    from serving.metrics import MULTIPROC_ENV

    if settings.session_secret is None:
        os.environ["LINLI_SESSION_SECRET"] = secrets.token_hex(32)  # sign-ins last as long as this run
    if settings.rate_limit_store is None:
        os.environ["LINLI_RATE_LIMIT_STORE"] = f"sqlite:///{(settings.data_dir / 'rate_limits.db').resolve()}"
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        for stale in Path(folder).glob("*.db"):  # counts of an earlier run (prometheus-client's advice)
            stale.unlink()
        return None
    made = Path(tempfile.mkdtemp(prefix="linli-metrics-"))
    os.environ[MULTIPROC_ENV] = str(made)
    return made


__all__ = ["serve_api"]
