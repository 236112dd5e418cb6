"""Retraining end to end against a real MLflow store (SQLite tracking + registry, local artifacts)."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.hybrid import HybridConfig
from recommenders.ranker import RankerConfig
from training.config import TrainConfig
from training.retrain import TrainResult, train
from training.tracking import load_bundle

MODEL = "linli-test"
FAST = TrainConfig(hybrid=HybridConfig(ranker=RankerConfig(n_estimators=80), seed=42))


class _Store(TypedDict):
    """Where a test's MLflow runs and artifacts go (keyword arguments of :func:`train`)."""

    tracking_uri: str
    artifact_location: str


def _store(folder: Path) -> _Store:
    return {"tracking_uri": f"sqlite:///{folder / 'mlflow.db'}",
            "artifact_location": (folder / "artifacts").resolve().as_uri()}


@pytest.fixture(scope="module")
def twice(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, TrainResult, _Store]:
    store = _store(tmp_path_factory.mktemp("mlflow"))
    first = train(dataset, model_name=MODEL, config=FAST, **store)
    second = train(dataset, model_name=MODEL, config=FAST, **store)
    return first, second, store


def test_train_reports_every_model_and_persona(twice: tuple[TrainResult, TrainResult, _Store]) -> None:
    report = twice[0].to_json()
    assert {"run_id", "model_version", "promoted", "metrics", "per_persona_ndcg@10"} <= set(report)
    assert set(report["metrics"]) == {"hybrid", "als", "bpr", "ease", "popular", "persona_popular", "item_knn",
                                      "personal_frequency"}
    for values in report["metrics"].values():
        assert 0.0 <= values["ndcg@10"] <= 1.0
    assert {"elderly", "commuter", "migrant"} <= set(report["per_persona_ndcg@10"])
    hybrid, popular = report["metrics"]["hybrid"], report["metrics"]["popular"]
    assert hybrid["ndcg@10"] > popular["ndcg@10"]
    assert hybrid["cold_start_ndcg@10"] > popular["cold_start_ndcg@10"]


def test_first_version_is_champion_and_an_equal_one_is_challenger(
        twice: tuple[TrainResult, TrainResult, _Store]) -> None:
    first, second, store = twice
    assert first.promoted and first.alias == "champion" and first.model_version == "1"
    assert not second.promoted and second.alias == "challenger" and second.model_version == "2"
    assert any("compared with champion version 1" in r for r in second.decision)
    client = MlflowClient(tracking_uri=store["tracking_uri"], registry_uri=store["tracking_uri"])
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(MODEL, "challenger").version) == "2"
    run = client.get_run(second.run_id)
    assert run.data.tags["linli.promoted"] == "false"
    assert "champion" in run.data.tags["linli.decision"]
    assert run.data.metrics["hybrid.ndcg_at_10"] == pytest.approx(second.metrics["hybrid"]["ndcg@10"])
    assert "hybrid.per_persona_ndcg_at_10.elderly" in run.data.metrics
    assert run.data.params["data.fingerprint"] == first.data_fingerprint


def test_same_data_and_seed_give_the_same_metrics(twice: tuple[TrainResult, TrainResult, _Store]) -> None:
    assert twice[0].metrics == twice[1].metrics


def test_the_champion_bundle_loads_from_the_registry_and_serves(
        twice: tuple[TrainResult, TrainResult, _Store], dataset: Dataset) -> None:
    mlflow.set_tracking_uri(twice[2]["tracking_uri"])
    mlflow.set_registry_uri(twice[2]["tracking_uri"])
    bundle = load_bundle(MODEL, "champion")
    residents = dataset.residents[C.RESIDENT].iloc[:5].tolist()
    recommendations = bundle.recommend(residents, k=5)
    assert recommendations.groupby(C.RESIDENT).size().tolist() == [5] * 5
    assert recommendations["explanation"].str.len().gt(0).all()
    pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    predicted = pyfunc.predict(pd.DataFrame({C.RESIDENT: residents}), params={"k": 5})
    pd.testing.assert_frame_equal(predicted.reset_index(drop=True), recommendations.reset_index(drop=True))
    assert bundle.data_fingerprint == dataset.fingerprint()


def test_a_better_model_replaces_a_weak_champion(dataset: Dataset, tmp_path: Path) -> None:
    store = _store(tmp_path)
    weak = TrainConfig(single_models=("popular",), hybrid=HybridConfig(
        generators={"popular": {}}, ranker=RankerConfig(n_estimators=1, early_stopping_rounds=1)))
    first = train(dataset, model_name=MODEL, config=weak, **store)
    better = train(dataset, model_name=MODEL, config=FAST, **store)
    assert first.promoted and better.promoted and better.alias == "champion"
    client = MlflowClient(tracking_uri=store["tracking_uri"], registry_uri=store["tracking_uri"])
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == better.model_version
