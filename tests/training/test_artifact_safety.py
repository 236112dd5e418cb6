"""Model artifacts are signed and private: loading a model never runs code from it (issue 15, faults 13 and 14).

A registered version whose bundle holds a pickle with ``__reduce__ → os.system(...)`` is refused by
``POST /models/reload`` (409, the old version keeps serving) and the command never runs; every bundle file's
SHA-256 is on the MLflow run; bundle files and the serving cache are readable by their owner only.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
from mlflow import MlflowClient

from features import Dataset
from recommenders import ModelFileError
from recommenders.hybrid import HybridConfig
from recommenders.popular import PopularRecommender
from recommenders.ranker import RankerConfig
from serving.model_holder import ModelHolder, ModelLoadError
from serving.settings import ServingSettings
from training.bundle import ModelBundle
from training.config import TrainConfig
from training.retrain import train

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx in its test client
    from fastapi.testclient import TestClient

from serving.app import create_app

pytestmark = pytest.mark.slow
MODEL = "linli-artifact-test"
ADMIN_KEY = "admin-key-0123456789"


class _RunsACommand:
    """A pickle payload that, when unpickled, runs a shell command creating ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def _malicious_pickle(marker: Path) -> bytes:
    return pickle.dumps({"format": 1, "kind": "bundle", "object": _RunsACommand(marker)})


@pytest.fixture(scope="module")
def registry(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, MlflowClient, Path]:
    """One trained version of :data:`MODEL` (champion), in a throw-away registry."""
    folder = tmp_path_factory.mktemp("artifact-registry")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    config = TrainConfig(seed=1, single_models=("popular",),
                         hybrid=HybridConfig(seed=1, ranker=RankerConfig(n_estimators=30)))
    train(dataset, tracking_uri=uri, model_name=MODEL, config=config, artifact_location=(folder / "art").as_uri())
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.set_registered_model_alias(MODEL, "champion", "1")
    return uri, client, folder


def _settings(registry: tuple[str, MlflowClient, Path], data_dir: Path) -> ServingSettings:
    uri, _, folder = registry
    return ServingSettings(data_dir=data_dir, mlflow_tracking_uri=uri, model_name=MODEL,
                           api_keys=f"admin:{ADMIN_KEY}", cache_dir=folder / "lists-cache",
                           exploration_rate=0.0)


def _version_folder(client: MlflowClient, version: str) -> Path:
    return Path(urlparse(client.get_model_version_download_uri(MODEL, version)).path)


def _register_tampered_copy(client: MlflowClient, tmp_path: Path, alias: str, payload: bytes) -> str:
    """A new version whose artifacts are version 1's with every pickled file replaced by ``payload``."""
    copy = tmp_path / f"artifacts-{alias}"
    shutil.copytree(_version_folder(client, "1"), copy)
    replaced = [p for p in copy.rglob("*") if p.is_file() and p.suffix in (".pkl", ".linli")]
    assert replaced, "the copied version has no pickled file to tamper with"
    for path in replaced:
        path.write_bytes(payload)
    version = client.create_model_version(MODEL, copy.as_uri(), run_id=None)
    client.set_registered_model_alias(MODEL, alias, version.version)
    return str(version.version)


@pytest.fixture
def api(registry: tuple[str, MlflowClient, Path], tmp_path: Path) -> Iterator[TestClient]:
    """The API on version 1, with its own holder."""
    holder = ModelHolder(_settings(registry, tmp_path / "data"))
    holder.load()
    with TestClient(create_app(_settings(registry, tmp_path / "data"), holder=holder)) as client:
        yield client


def test_reloading_a_version_with_a_malicious_pickle_never_runs_it(
        api: TestClient, registry: tuple[str, MlflowClient, Path], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _register_tampered_copy(registry[1], tmp_path, "evil", _malicious_pickle(marker))
    response = api.post("/models/reload", json={"alias": "evil"}, headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 409, response.text
    assert not marker.exists(), "loading the model ran the command in its pickle"
    assert api.get("/models", headers={"X-API-Key": ADMIN_KEY}).json()["serving"]["version"] == "1"


def test_a_tampered_or_unsigned_bundle_is_refused_before_it_is_read(
        registry: tuple[str, MlflowClient, Path], tmp_path: Path) -> None:
    holder = ModelHolder(_settings(registry, tmp_path / "data"))
    holder.load()
    copy = tmp_path / "flipped"
    shutil.copytree(_version_folder(registry[1], "1"), copy)
    target = max((p for p in copy.rglob("*") if p.is_file() and p.suffix == ".pkl"), key=lambda p: p.stat().st_size)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    version = registry[1].create_model_version(MODEL, copy.as_uri(), run_id=None)
    registry[1].set_registered_model_alias(MODEL, "flipped", version.version)
    with pytest.raises(ModelLoadError, match=r"(?i)sha-256|signature"):
        holder.load("flipped")
    assert holder.current.version == "1"


def test_a_pickle_signed_with_the_key_may_still_only_hold_known_classes(tmp_path: Path) -> None:
    from recommenders.signing import write_signed

    marker = tmp_path / "pwned"
    path = write_signed(tmp_path / "model.pkl", _malicious_pickle(marker), "popular")
    with pytest.raises(ModelFileError, match=r"posix\.system|os\.system|not allowed"):
        PopularRecommender.load(path)
    assert not marker.exists()


def test_a_file_signed_with_another_key_is_refused(dataset: Dataset, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = PopularRecommender().fit(dataset).save(tmp_path / "popular.pkl")
    assert isinstance(PopularRecommender.load(path), PopularRecommender)
    monkeypatch.setenv("LINLI_ARTIFACT_KEY", "another-key-entirely-0123456789")
    with pytest.raises(ModelFileError, match=r"popular\.pkl.*signature"):
        PopularRecommender.load(path)


def test_without_a_key_setting_a_private_key_file_is_made_beside_the_data(
        dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINLI_ARTIFACT_KEY", raising=False)
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path / "data"))
    path = PopularRecommender().fit(dataset).save(tmp_path / "popular.pkl")
    key = tmp_path / "data" / "artifact.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert isinstance(PopularRecommender.load(path), PopularRecommender)
    key.write_text("f" * 64)
    with pytest.raises(ModelFileError, match=r"signature"):
        PopularRecommender.load(path)


def test_the_run_records_the_sha256_of_every_bundle_file(registry: tuple[str, MlflowClient, Path]) -> None:
    client = registry[1]
    run_id = client.get_model_version(MODEL, "1").run_id
    assert run_id is not None
    run = client.get_run(run_id)
    recorded = {k.removeprefix("linli.sha256."): v for k, v in run.data.tags.items() if k.startswith("linli.sha256.")}
    folder = _version_folder(client, "1") / "artifacts" / "bundle"
    files = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in folder.rglob("*") if p.is_file()}
    assert files and recorded == files


def test_bundle_files_and_the_serving_cache_are_private(registry: tuple[str, MlflowClient, Path],
                                                        tmp_path: Path) -> None:
    bundle = ModelBundle.load(_version_folder(registry[1], "1") / "artifacts" / "bundle")
    saved = bundle.save(tmp_path / "saved" / "bundle")
    for path in [saved, *saved.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    for path in _version_folder(registry[1], "1").rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    run = registry[1].get_run(str(registry[1].get_model_version(MODEL, "1").run_id))
    lists = [p for p in (Path(urlparse(run.info.artifact_uri).path) / "lists").rglob("*") if p.is_file()]
    assert lists and all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in lists), lists
    settings = _settings(registry, tmp_path / "data").model_copy(update={"cache_dir": tmp_path / "cache"})
    ModelHolder(settings).load()  # a local artifact store: the lists are mapped in place, the cache stays empty
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700 and not list((tmp_path / "cache").iterdir())


def test_the_profile_tables_are_parquet_and_read_back_unchanged(registry: tuple[str, MlflowClient, Path],
                                                                 tmp_path: Path) -> None:
    folder = _version_folder(registry[1], "1") / "artifacts" / "bundle"
    assert (folder / "profile.features.parquet").is_file() and (folder / "profile.segments.parquet").is_file()
    bundle = ModelBundle.load(folder)
    again = ModelBundle.load(bundle.save(tmp_path / "again"))
    pd.testing.assert_frame_equal(again.profile.features, bundle.profile.features)
    pd.testing.assert_series_equal(again.profile.segments, bundle.profile.segments)
    assert len(bundle.profile.features) > 0
