"""``linli bench movielens`` as a user runs it: a real process, real MovieLens-100K, a real MLflow store.

A reduced smoke run (one seed, three models with one grid point each, two folds, a 20-tree ranker); the full
three-seed benchmark is ``linli bench movielens --json`` (see the README), never part of the test suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.movielens_data import movielens_folder

METRICS = {"ndcg@10", "precision@10", "recall@10", "map", "train_seconds"}


def _linli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"))}
    return subprocess.run([sys.executable, "-m", "linli", "bench", "movielens", *args], capture_output=True,
                          text=True, timeout=300, env={**env, "LINLI_DATA_DIR": str(data_dir)})


def test_quick_benchmark_prints_json_and_logs_to_mlflow(tmp_path: Path) -> None:
    done = _linli("--data", str(movielens_folder()), "--seeds", "42", "--quick", "--json", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["data"] == "ml-100k" and report["seeds"] == [42]
    assert "python_stratified_split(ratio=0.75, min_rating=1, filter_by='item')" in report["protocol"]["split"]
    assert set(report["models"]) == {"popularity", "implicit_als", "ease", "linli_hybrid"}
    for name, values in report["models"].items():
        assert set(values) >= METRICS, name
        assert 0.0 < values["ndcg@10"] < 1.0
    assert report["per_seed"]["42"]["ease"]["ndcg@10"] == pytest.approx(report["models"]["ease"]["ndcg@10"], abs=1e-4)
    # personalised models beat popularity by far on real behaviour
    assert report["models"]["ease"]["ndcg@10"] > report["models"]["popularity"]["ndcg@10"] + 0.1
    assert report["models"]["linli_hybrid"]["ndcg@10"] > report["models"]["popularity"]["ndcg@10"] + 0.1
    run = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(report["mlflow_run_id"])
    assert run.data.metrics["ease.ndcg_at_10"] == report["models"]["ease"]["ndcg@10"]
    assert run.data.params["seeds"] == "42"


def test_bad_data_folder_and_seeds_fail_clearly(tmp_path: Path) -> None:
    done = _linli("--data", str(tmp_path / "nowhere"), data_dir=tmp_path)
    assert done.returncode == 2 and "not a folder" in done.stderr
    done = _linli("--seeds", "one", data_dir=tmp_path)
    assert done.returncode == 2 and "--seeds must be comma-separated integers" in done.stderr
