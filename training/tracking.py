"""MLflow tracking and registry: a local SQLite store by default, any tracking URI by setting.

Metric names in Linli's JSON use ``@`` (``ndcg@10``); MLflow does not allow ``@`` in metric keys, so
they are logged as ``ndcg_at_10`` (see :func:`metric_key`).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from features.columns import Columns as C
from training.bundle import ModelBundle
from training.pyfunc import LinliPyfunc, pip_requirements

EXPERIMENT = "linli"
CHAMPION, CHALLENGER = "champion", "challenger"


def metric_key(name: str) -> str:
    """An MLflow-safe metric key: ``hybrid/ndcg@10`` → ``hybrid/ndcg_at_10``."""
    return name.replace("@", "_at_")


def flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Flatten nested metric dicts into ``a.b.c`` keys (MLflow-safe), numbers only."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_metrics(value, f"{name}."))
        elif isinstance(value, int | float) and value == value:  # drop NaN
            flat[metric_key(name)] = float(value)
    return flat


def connect(tracking_uri: str, artifact_location: str | None = None) -> MlflowClient:
    """Point MLflow at ``tracking_uri`` (registry too) and make sure the Linli experiment exists."""
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if client.get_experiment_by_name(EXPERIMENT) is None:
        client.create_experiment(EXPERIMENT, artifact_location=artifact_location)
    mlflow.set_experiment(EXPERIMENT)
    return client


def log_bundle(bundle: ModelBundle, model_name: str) -> ModelVersion:
    """Log ``bundle`` as a pyfunc model in the active run and register it as a new version of ``model_name``."""
    sample = pd.DataFrame({C.RESIDENT: bundle.model.resident_ids_.to_external([0])})
    with warnings.catch_warnings():  # `rank` is an int column that is never missing: MLflow's hint does not apply
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
        signature = infer_signature(sample, bundle.recommend(sample[C.RESIDENT].tolist(), 3), params={"k": 10})
    with tempfile.TemporaryDirectory(prefix="linli-bundle-") as folder:
        path = bundle.save(Path(folder) / "bundle.pkl")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=LinliPyfunc(), artifacts={"bundle": str(path)}, signature=signature,
            input_example=sample,
            pip_requirements=pip_requirements(), registered_model_name=model_name,
        )
    client = MlflowClient()
    versions = client.search_model_versions(f"name='{model_name}' and run_id='{info.run_id}'")
    return max(versions, key=lambda v: int(v.version))


def version_by_alias(client: MlflowClient, model_name: str, alias: str) -> ModelVersion | None:
    """The version holding ``alias``, or ``None`` when no version (or no registered model) has it."""
    try:
        return client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None


def load_bundle(model_name: str, alias: str = CHAMPION) -> ModelBundle:
    """Load the bundle registered under ``model_name@alias`` from the current tracking URI (no server)."""
    model = mlflow.pyfunc.load_model(f"models:/{model_name}@{alias}")
    return model.unwrap_python_model().bundle
