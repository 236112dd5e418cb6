"""``linli bench realdata`` on a slice of real MovieLens-100K: the report's shape, finite ratios, one MLflow run.

A third of the residents, one two-week window, a reduced hybrid: seconds, not the full benchmark (that is
``linli bench realdata --json``, see docs/benchmarks-realdata.md).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from experiments.realdata_bench import RealDataBenchError, run, window_ends
from experiments.realdata_report import format_report
from features.dataset import Dataset
from features.sources.movielens import load_movielens_100k
from recommenders.hybrid import HybridConfig
from recommenders.label_strategies import TimeWindowLabels
from recommenders.ranker import RankerConfig
from tests.movielens_data import movielens_folder
from training.config import TrainConfig

MODELS = ("popular", "popular_count", "personal_frequency", "ease", "hybrid")
SMALL = TrainConfig(hybrid=HybridConfig(
    generators={"popular": {}, "ease": {}}, labels=TimeWindowLabels(label_weeks=2), ranker_bags=1,
    ranker=RankerConfig(n_estimators=20, early_stopping_rounds=5, num_leaves=7, n_jobs=1)))


@pytest.fixture(scope="module")
def slice_of_ml100k() -> Dataset:
    dataset = load_movielens_100k(movielens_folder().parent)
    keep = dataset.interactions["resident_id"].astype(int) % 3 == 0
    return dataclasses.replace(dataset, interactions=dataset.interactions[keep].reset_index(drop=True))


def test_every_model_is_reported_pooled_per_cohort_and_as_a_ratio_to_popular(slice_of_ml100k: Dataset,
                                                                               tmp_path: Path) -> None:
    report = run(slice_of_ml100k, windows=1, weeks=2, config=SMALL, models=MODELS,
                 tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_location=str(tmp_path / "artifacts"))
    json.dumps(report)  # the CLI prints it as JSON
    scored = [m for m in MODELS if m not in report["missing"]]
    assert {"popular", "popular_count", "ease", "hybrid"} <= set(scored)
    assert set(report["models"]) == set(scored) == set(report["ratio_to_popular"])
    assert set(report["cohorts"]) == {"with_history", "new"}
    for name in scored:
        assert 0.0 <= report["models"][name]["ndcg@10"] <= 1.0
        interval = report["ratio_to_popular"][name]
        assert all(math.isfinite(interval[key]) for key in ("ratio", "low", "high")), name
        assert interval["low"] <= interval["ratio"] <= interval["high"]
        for cohort in ("with_history", "new"):
            assert set(report["cohorts"][cohort]) == set(scored)
            assert 0.0 <= report["cohorts"][cohort][name]["ndcg@10"] <= 1.0
    assert report["ratio_to_popular"]["popular"] == {"ratio": 1.0, "low": 1.0, "high": 1.0}
    window = report["windows"][0]
    assert window["end"] == "1998-04-24" and window["cut"] == "1998-04-10" and report["scored"] == "test"
    assert window["ndcg@10"]["hybrid"] == report["models"]["hybrid"]["ndcg@10"]  # one window: pooled = window
    assert window["with_history"] + window["new"] == window["residents"] > 0
    assert window["popular_recency"]  # the time-aware popularity reports what it chose
    assert report["cohorts"]["new"]["hybrid"]["residents"] == window["new"]
    run_data = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(report["mlflow_run_id"]).data
    assert run_data.metrics["hybrid.ndcg_at_10"] == report["models"]["hybrid"]["ndcg@10"]
    assert run_data.params["benchmark"] == "realdata"
    text = format_report(report)
    assert all(f"| {name} |" in text for name in scored)


def test_windows_end_at_the_last_interaction_and_are_consecutive(slice_of_ml100k: Dataset) -> None:
    ends = window_ends(slice_of_ml100k, 4, 4)
    assert [str(e.date()) for e in ends] == ["1998-01-30", "1998-02-27", "1998-03-27", "1998-04-24"]
    with pytest.raises(RealDataBenchError, match="before the first event"):
        run(slice_of_ml100k, windows=40, weeks=4, config=SMALL, models=MODELS)
    with pytest.raises(RealDataBenchError, match="'popular'"):
        run(slice_of_ml100k, windows=1, weeks=1, config=SMALL, models=("ease",))


def test_validation_windows_end_where_the_test_windows_begin(slice_of_ml100k: Dataset) -> None:
    report = run(slice_of_ml100k, windows=1, weeks=2, validation=1, config=SMALL,
                 models=("popular", "popular_count"))
    assert report["scored"] == "validation"
    assert [(w["cut"], w["end"]) for w in report["windows"]] == [("1998-03-27", "1998-04-10")]


def test_bad_window_settings_exit_with_code_2(tmp_path: Path) -> None:
    env = {**os.environ, "LINLI_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "linli", "bench", "realdata", "--windows", "0"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "--windows and --weeks must be ≥ 1" in done.stderr
