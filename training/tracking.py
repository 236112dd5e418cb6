"""MLflow tracking and registry: a local SQLite store by default, any tracking URI by setting.

A logged bundle is a signed folder (:mod:`training.bundle`); the SHA-256 of each of its files is recorded on the
run as a ``linli.sha256.<file>`` tag, and :func:`read_verified_bundle` checks both the folder's signature and
those tags before it reads a byte of the model. Everything is logged under umask 077 (files 600, folders 700).

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
import mlflow.artifacts
import mlflow.pyfunc
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from features.columns import Columns as C
from recommenders.errors import ModelFileError
from recommenders.signing import MANIFEST, sha256_file, verify_manifest, write_private
from training.bundle import ModelBundle
from training.pyfunc import BUNDLE_ARTIFACT, MODEL_CODE, bundle_path, pip_requirements

EXPERIMENT = "linli"
CHAMPION, CHALLENGER = "champion", "challenger"
#: Prefix of the run tags holding the SHA-256 of each bundle file.
SHA256_TAG = "linli.sha256."
#: Run tag holding the SHA-256 of the stored lists' manifest (:mod:`training.batch_lists`).
LISTS_TAG = "linli.lists.sha256"
#: Artifact folder of the stored lists in the run.
LISTS_ARTIFACT = "lists"


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
    # The signature is inferred from one resident's list, but no input example is logged: MLflow would store
    # it in input_example.json and serving_input_example.json, readable by anyone with the registry, and a
    # synthetic id cannot serve as one (MLflow validates an example by predicting it, and an unknown resident
    # has no list). The signature documents the input instead: a ``resident_id`` column and a ``k`` parameter.
    sample = pd.DataFrame({C.RESIDENT: [str(bundle.resident_ids()[0])]})
    with warnings.catch_warnings():  # `rank` is an int column that is never missing: MLflow's hint does not apply
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
        signature = infer_signature(sample, bundle.recommend(sample[C.RESIDENT].tolist(), 3), params={"k": 10})
    previous = os.umask(0o077)  # MLflow's copies of the bundle and its descriptions stay private
    try:
        with tempfile.TemporaryDirectory(prefix="linli-bundle-") as folder:
            path = bundle.save(Path(folder) / BUNDLE_ARTIFACT)
            code = write_private(Path(folder) / MODEL_CODE.name, MODEL_CODE.read_bytes())  # MLflow keeps its mode
            digests = {**verify_manifest(path), MANIFEST: sha256_file(path / MANIFEST)}
            mlflow.set_tags({f"{SHA256_TAG}{name}": digest for name, digest in digests.items()})
            with warnings.catch_warnings():  # MLflow asks for an input example; none is logged, see above
                warnings.filterwarnings("ignore", message=".*input example was not provided")
                info = mlflow.pyfunc.log_model(
                    name="model", python_model=str(code), artifacts={BUNDLE_ARTIFACT: str(path)},
                    signature=signature, pip_requirements=pip_requirements(), registered_model_name=model_name,
                )
    finally:
        os.umask(previous)
    client = MlflowClient()
    versions = client.search_model_versions(f"name='{model_name}' and run_id='{info.run_id}'")
    return max(versions, key=lambda v: int(v.version))


def log_lists(folder: Path) -> None:
    """Log a folder written by :func:`training.batch_lists.write_lists` as the run's ``lists`` artifacts, with the
    SHA-256 of its manifest as a run tag (the manifest holds every file's SHA-256; serving checks both)."""
    mlflow.set_tag(LISTS_TAG, sha256_file(Path(folder) / "manifest.json"))
    previous = os.umask(0o077)
    try:
        mlflow.log_artifacts(str(folder), LISTS_ARTIFACT)
    finally:
        os.umask(previous)


def version_by_alias(client: MlflowClient, model_name: str, alias: str) -> ModelVersion | None:
    """The version holding ``alias``, or ``None`` when no version (or no registered model) has it."""
    try:
        return client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None


def read_verified_bundle(model_dir: str | Path, run_tags: dict[str, str] | None = None) -> ModelBundle:
    """Read the bundle of a downloaded pyfunc model folder, never running code from it.

    The folder's signed manifest is checked (:func:`recommenders.signing.verify_manifest`) and, when the run's
    tags are given, every file's SHA-256 must also equal the one recorded on the run; only then is it read.

    Raises
    ------
    ModelFileError
        The bundle is missing, unsigned, tampered or signed with another key, or differs from the run's record.
    """
    folder = bundle_path(model_dir)
    if not folder.is_dir():
        raise ModelFileError(f"the model has no signed bundle folder ({BUNDLE_ARTIFACT}); bundles from before "
                             "signing must be retrained")
    recorded = {k.removeprefix(SHA256_TAG): v for k, v in (run_tags or {}).items() if k.startswith(SHA256_TAG)}
    if recorded:
        digests = {**verify_manifest(folder), MANIFEST: sha256_file(folder / MANIFEST)}
        if digests != recorded:
            changed = sorted(n for n in digests.keys() | recorded.keys() if digests.get(n) != recorded.get(n))
            raise ModelFileError(f"bundle files differ from the SHA-256 recorded on the run: {', '.join(changed)}")
    return ModelBundle.load(folder)


def load_bundle(model_name: str, alias: str = CHAMPION) -> ModelBundle:
    """Load the bundle registered under ``model_name@alias`` from the current tracking URI (no server), verified
    against its signature and its run's recorded SHA-256 (see :func:`read_verified_bundle`)."""
    client = MlflowClient()
    version = client.get_model_version_by_alias(model_name, alias)
    tags = client.get_run(version.run_id).data.tags if version.run_id else None
    with tempfile.TemporaryDirectory(prefix="linli-load-") as folder:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=client.get_model_version_download_uri(model_name, version.version), dst_path=folder)
        return read_verified_bundle(local, tags)
