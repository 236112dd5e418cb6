"""``linli train --engine dask`` gives the local engine's lists and metrics, registers only finished models,
and reads pseudonymised data as the local loader does."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from distributed import Client
from mlflow import MlflowClient

from features.columns import Columns as C
from features.sources import load
from features.sources.partitioned import write_partitioned_folder
from features.sources.synthetic import SyntheticCommunity
from recommenders.hybrid_config import HybridConfig
from recommenders.ranker import RankerConfig
from scale.cluster import ClusterError, dask_client
from scale.engine import bucket_data
from scale.parts import folder_parts
from scale.train_dask import train_on_cluster
from training.config import TrainConfig
from training.retrain import TrainResult, train

FAST = TrainConfig(single_models=("popular",), hybrid=HybridConfig(ranker=RankerConfig(n_estimators=40), seed=42))
#: Metrics of the two engines may differ by float summation order only.
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def partitioned_dir(community: SyntheticCommunity, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("partitioned-train")
    write_partitioned_folder(community.frames, folder, rows_per_part=700)
    return folder


@pytest.fixture(scope="module")
def engines(partitioned_dir: Path, client: Client, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[TrainResult, TrainResult, str]:
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    local = train(load(str(partitioned_dir)), tracking_uri=uri, model_name="linli", config=FAST)
    on_dask = train_on_cluster(client, partitioned_dir, tracking_uri=uri, model_name="linli", config=FAST)
    return local, on_dask, uri


def _scalars(metrics: dict[str, object]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def test_dask_and_local_engines_give_equal_metrics(engines: tuple[TrainResult, TrainResult, str]) -> None:
    local, on_dask, _ = engines
    assert set(local.metrics) == set(on_dask.metrics) == {"popular", "hybrid"}
    for name in local.metrics:
        expected, got = _scalars(local.metrics[name]), _scalars(on_dask.metrics[name])
        assert expected.keys() == got.keys()
        assert got == pytest.approx(expected, abs=TOLERANCE), name
    assert on_dask.per_persona_ndcg_at_10 == pytest.approx(local.per_persona_ndcg_at_10, abs=TOLERANCE)
    assert on_dask.test_window == local.test_window
    assert on_dask.data_fingerprint == local.data_fingerprint


def test_the_json_has_the_local_engines_shape(engines: tuple[TrainResult, TrainResult, str]) -> None:
    local, on_dask, _ = engines
    assert on_dask.to_json().keys() == local.to_json().keys()
    assert {"validate", "bucket", "evaluate", "refit", "profile"} <= on_dask.seconds.keys()


def test_both_runs_register_a_version_with_the_same_lists(engines: tuple[TrainResult, TrainResult, str]) -> None:
    import mlflow

    local, on_dask, uri = engines
    client = MlflowClient(tracking_uri=uri)
    versions = {str(v.version): v.run_id for v in client.search_model_versions("name='linli'")}
    assert versions[local.model_version] == local.run_id and versions[on_dask.model_version] == on_dask.run_id
    mlflow.set_tracking_uri(uri)
    first = mlflow.pyfunc.load_model(f"models:/linli/{local.model_version}").unwrap_python_model()
    second = mlflow.pyfunc.load_model(f"models:/linli/{on_dask.model_version}").unwrap_python_model()
    residents = first.bundle.model.resident_ids_.external[:200].to_numpy()
    assert list(second.bundle.model.resident_ids_.external[:200]) == list(residents)
    pd.testing.assert_frame_equal(first.bundle.model.recommend(residents, 10)[[C.RESIDENT, C.SERVICE]],
                                  second.bundle.model.recommend(residents, 10)[[C.RESIDENT, C.SERVICE]])


def test_the_dask_engine_stores_the_local_engines_lists_and_serving_opens_them(
        engines: tuple[TrainResult, TrainResult, str], tmp_path: Path) -> None:
    import json

    import mlflow

    from serving.list_store import ListStore
    from training.batch_lists import MANIFEST
    from training.tracking import LISTS_ARTIFACT, LISTS_TAG

    local, on_dask, uri = engines
    assert "lists" in on_dask.seconds
    client = MlflowClient(tracking_uri=uri)
    folders = [Path(client.download_artifacts(r.run_id, LISTS_ARTIFACT, str(tmp_path / str(i))))
               for i, r in enumerate((local, on_dask))]
    stored, written = (json.loads((folder / MANIFEST).read_text()) for folder in folders)
    assert written == stored  # every bucket file, its rows and its SHA-256: the same bytes
    mlflow.set_tracking_uri(uri)
    bundle = mlflow.pyfunc.load_model(f"models:/linli/{on_dask.model_version}").unwrap_python_model().bundle
    store = ListStore.open(folders[1], client.get_run(on_dask.run_id).data.tags[LISTS_TAG],
                           len(bundle.resident_ids()), len(bundle.service_ids()))
    residents = bundle.resident_ids()[::97]
    expected = bundle.recommend(list(residents), 10)
    for resident in residents:
        found = store.ranked(resident)
        assert found is not None, resident  # every resident the bundle knows has stored lists
        names = bundle.service_ids()[found[0][:10]]
        assert list(names) == list(expected.loc[expected[C.RESIDENT] == resident, C.SERVICE]), resident


def test_both_engines_learn_the_same_from_the_same_feedback(partitioned_dir: Path, client: Client,
                                                            tmp_path: Path) -> None:
    from datetime import timedelta

    from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
    from serving.store import FeedbackStore
    from training.feedback_data import FeedbackLog

    dataset = load(str(partitioned_dir))
    last = dataset.interactions[C.TIMESTAMP].max()
    residents = [str(r) for r in dataset.resident_ids.external[::10]]
    services = [str(s) for s in dataset.service_ids.external]
    served, clicks = [], []
    with FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}") as store:
        store.create_schema()
        for i, resident in enumerate(residents):
            at = (last - pd.Timedelta(days=3 + i % 20)).to_pydatetime()
            offered = [services[(i + j) % len(services)] for j in range(3)]
            served.append(ServedList(request_id=f"q{i}", resident_id=resident, model_version="1", served_at=at,
                                     items=[ServedItem(service_id=s, position=j + 1, score=1.0)
                                            for j, s in enumerate(offered)]))
            clicks.append(FeedbackEvent(request_id=f"q{i}", resident_id=resident, service_id=offered[0],
                                        channel="online", event="book", timestamp=at + timedelta(hours=1)))
        store.log_served_many(served)
        store.add_events(clicks)
        log = FeedbackLog(store.served(), store.events())
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    local = train(dataset, tracking_uri=uri, model_name="linli", config=FAST, feedback=log)
    on_dask = train_on_cluster(client, partitioned_dir, tracking_uri=uri, model_name="linli", config=FAST,
                               feedback=log)
    assert local.feedback["added"] > 0 and on_dask.feedback == local.feedback and on_dask.dropped == local.dropped
    for name in local.metrics:
        assert _scalars(on_dask.metrics[name]) == pytest.approx(_scalars(local.metrics[name]), abs=TOLERANCE), name
    assert on_dask.per_persona_ndcg_at_10 == pytest.approx(local.per_persona_ndcg_at_10, abs=TOLERANCE)


def test_a_worker_out_of_memory_names_the_stage_and_registers_nothing(partitioned_dir: Path, tmp_path: Path
                                                                      ) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with dask_client(workers=1, memory_limit="256MiB") as small, pytest.raises(ClusterError) as caught:
        train_on_cluster(small, partitioned_dir, tracking_uri=uri, model_name="linli", config=FAST,
                         memory_limit="256MiB")
    message = str(caught.value)
    assert "stage '" in message and "--memory-limit (now 256MiB)" in message and "Nothing was registered" in message
    assert MlflowClient(tracking_uri=uri, registry_uri=uri).search_model_versions("name='linli'") == []


def test_buckets_hold_the_loaders_pseudonyms(partitioned_dir: Path, client: Client,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    key = "scale-test-pseudonym-key-0123456789"
    monkeypatch.setenv("LINLI_PSEUDONYM_KEY", key)
    client.run(lambda: os.environ.__setitem__("LINLI_PSEUDONYM_KEY", key))  # a bound method would copy environ
    try:
        expected = set(load(str(partitioned_dir)).residents[C.RESIDENT])
        bucketed = bucket_data(client, folder_parts(partitioned_dir), 4)
        pieces = client.gather(client.map(lambda b: list(b.dataset.residents[C.RESIDENT]), bucketed.buckets))
    finally:
        client.run(lambda: os.environ.pop("LINLI_PSEUDONYM_KEY", None))
    got = [r for piece in pieces for r in piece]
    assert len(got) == len(expected) and set(got) == expected
    assert all(r.startswith("ps_") for r in got)


@pytest.mark.parametrize(("options", "said"), [
    (["--engine", "spark"], "--engine spark: use local or dask"),
    (["--engine", "dask", "--memory-limit", "lots"], "--memory-limit 'lots': not a size"),
])
def test_linli_train_refuses_what_the_dask_engine_cannot_do(partitioned_dir: Path, options: list[str],
                                                            said: str) -> None:
    from typer.testing import CliRunner

    from linli.cli import app

    result = CliRunner().invoke(app, ["train", "--data", str(partitioned_dir), *options])
    assert result.exit_code == 2 and said in result.output
