"""Serving fixtures: a registry with two trained versions, a loaded model shared by the in-process tests,
an API client per test with its own feedback database, and real uvicorn servers on loopback ports."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from mlflow import MlflowClient
from starlette.datastructures import State

from experiments.local_server import free_port, stop, wait_ready
from features import Dataset
from recommenders.hybrid import HybridConfig
from recommenders.ranker import RankerConfig
from serving.model_holder import ModelHolder
from serving.settings import ServingSettings
from serving.store import FeedbackStore
from training.config import TrainConfig
from training.retrain import train

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx in its test client
    from fastapi.testclient import TestClient

from serving.app import create_app

MODEL = "linli-test-recommender"
KEYS = {"platform": "platform-key-0123456789", "planner": "planner-key-0123456789", "admin": "admin-key-0123456789"}
API_KEYS = ",".join(f"{role}:{key}" for role, key in KEYS.items())


def headers(role: str) -> dict[str, str]:
    """The ``X-API-Key`` header of a role."""
    return {"X-API-Key": KEYS[role]}


def app_state(client: TestClient) -> State:
    """The state of the FastAPI app behind ``client`` (holder, store, served-list log)."""
    if not isinstance(client.app, FastAPI):
        raise TypeError(f"the test client does not wrap a FastAPI app: {client.app!r}")
    return client.app.state


@dataclass(frozen=True)
class Registry:
    """A throw-away MLflow registry with versions 1 and 2 of :data:`MODEL`; ``champion`` → 1."""

    tracking_uri: str
    cache_dir: Path
    client: MlflowClient

    def set_champion(self, version: str) -> None:
        """Point ``champion`` at ``version``."""
        self.client.set_registered_model_alias(MODEL, "champion", version)


@pytest.fixture(scope="session")
def registry(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """Two versions trained on the session community (seeds 1 and 2); champion → version 1."""
    folder = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    for seed in (1, 2):
        config = TrainConfig(seed=seed, single_models=("popular",),
                             hybrid=HybridConfig(seed=seed, ranker=RankerConfig(n_estimators=60)))
        train(dataset, tracking_uri=uri, model_name=MODEL, config=config, artifact_location=(folder / "art").as_uri())
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    result = Registry(uri, folder / "lists-cache", client)
    result.set_champion("1")
    return result


def make_settings(registry: Registry, data_dir: Path, **overrides: Any) -> ServingSettings:
    """Settings for a test API over ``registry`` (precomputed lists cached for the whole session)."""
    values: dict[str, Any] = {"data_dir": data_dir, "mlflow_tracking_uri": registry.tracking_uri,
                                 "model_name": MODEL, "api_keys": API_KEYS, "cache_dir": registry.cache_dir,
                                 "exploration_rate": 0.0,
                                 "served_log_wait_ms": 10_000}  # a loaded test machine never turns "true" into "queued"
    return ServingSettings(**(values | overrides))


@pytest.fixture(scope="session")
def holder(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> ModelHolder:
    """Version 1, loaded once and shared by the in-process API tests (they never reload it)."""
    loaded = ModelHolder(make_settings(registry, tmp_path_factory.mktemp("holder")))
    loaded.load()
    return loaded


@pytest.fixture
def settings(registry: Registry, tmp_path: Path) -> ServingSettings:
    """Settings with this test's own data folder (and so its own feedback database)."""
    return make_settings(registry, tmp_path)


@pytest.fixture
def client(settings: ServingSettings, holder: ModelHolder) -> Iterator[TestClient]:
    """The API on the shared model with a fresh SQLite feedback store."""
    with TestClient(create_app(settings, holder=holder)) as test_client:
        yield test_client


@pytest.fixture
def served(client: TestClient) -> dict[str, Any]:
    """One list served to R0000001 (through the platform role)."""
    return client.get("/recommendations/R0000001", headers=headers("platform")).json()


@pytest.fixture
def store(settings: ServingSettings) -> FeedbackStore:
    """The feedback store :func:`client` writes to."""
    return FeedbackStore(settings.store_url())


@dataclass
class Server:
    """A uvicorn process serving the API."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def run_server(settings: ServingSettings, ready_timeout: float = 180) -> Iterator[Server]:
    """Start ``uvicorn serving.app:create_app --factory`` with ``settings`` as environment; wait for ``/ready``."""
    port = free_port()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "LINLI_DATA_DIR": str(settings.data_dir),
           "LINLI_MLFLOW_TRACKING_URI": settings.tracking_uri(), "LINLI_MODEL_NAME": settings.model_name,
           "LINLI_API_KEYS": API_KEYS, "LINLI_CACHE_DIR": str(settings.cache_dir),
           "LINLI_DATABASE_URL": settings.store_url(), "LINLI_PRECOMPUTE_WORKERS": "1",
           "LINLI_EXPLORATION_RATE": str(settings.exploration_rate),
           "LINLI_CHALLENGER_SHARE": str(settings.challenger_share)}
    log = Path(settings.data_dir) / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "uvicorn", "serving.app:create_app", "--factory",
                                    "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_ready(server.url, process, ready_timeout, log)
        yield server
    finally:
        stop(process)
