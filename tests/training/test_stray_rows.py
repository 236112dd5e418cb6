"""A stray row never moves the training windows (issue 15, faults 1 and 3).

One platform call dated 2099 used to break every later retrain; one resident used to end ``linli train`` in a
LightGBM traceback. Stray rows are dropped, counted, reported and logged on the MLflow run; too little data ends
with exit code 2 and a sentence naming what is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from features.errors import StrayRowsWarning
from features.sources.synthetic import SyntheticCommunity
from recommenders.hybrid import HybridConfig
from recommenders.ranker import RankerConfig
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore
from training.config import TrainConfig
from training.feedback_data import FeedbackLog, merge_feedback
from training.retrain import train
from training.splits import NotEnoughResidentsError, require_residents

FUTURE = datetime(2099, 1, 1)
PAST = datetime(1970, 1, 1)
FAST = TrainConfig(single_models=(), hybrid=HybridConfig(ranker=RankerConfig(n_estimators=30), seed=42))


def _linli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"))}
    return subprocess.run([sys.executable, "-m", "linli", *args], capture_output=True, text=True, timeout=300,
                          env={**env, "LINLI_DATA_DIR": str(data_dir)})


def _store_with_strays(dataset: Dataset, path: Path) -> str:
    """A real SQLite feedback store holding one normal click, one event dated 2099, one dated 1970 and a list
    served in 2099 (rows an older server stored without bounds: written past the request models' checks)."""
    resident = str(dataset.resident_ids.external[0])
    service = str(dataset.service_ids.external[0])
    url = f"sqlite:///{path}"
    with FeedbackStore(url) as store:
        store.create_schema()
        store.log_served_many([
            ServedList(request_id="ok", resident_id=resident, model_version="1", served_at=datetime(2026, 10, 30),
                       items=[ServedItem(service_id=service, position=1, score=1.0)]),
            ServedList.model_construct(request_id="late", resident_id=resident, model_version="1", served_at=FUTURE,
                                       variant="champion",
                                       items=[ServedItem(service_id=service, position=1, score=1.0)]),
        ])
        base: dict[str, Any] = {"request_id": "ok", "resident_id": resident, "service_id": service, "channel": "online",
                                "rating": None, "comment": None}
        store.add_events([FeedbackEvent(**{**base, "event": "click", "timestamp": datetime(2026, 10, 30, 9)}),
                          FeedbackEvent.model_construct(**base, event="book", timestamp=FUTURE),
                          FeedbackEvent.model_construct(**base, event="use", timestamp=PAST)])
    return url


def _log(url: str) -> FeedbackLog:
    with FeedbackStore(url) as store:
        return FeedbackLog(store.served(), store.events())


def test_feedback_rows_out_of_time_are_dropped_and_counted(dataset: Dataset, tmp_path: Path) -> None:
    log = _log(_store_with_strays(dataset, tmp_path / "feedback.db"))
    with pytest.warns(StrayRowsWarning, match=r"3 feedback row\(s\) dated after"):
        merged, counts = merge_feedback(dataset, log)
    assert counts.out_of_time_rows == 3  # the 2099 event, the 1970 event and the 2099 impression
    assert counts.added == 1
    assert merged.history_end() == dataset.history_end()


@pytest.mark.slow  # trains the hybrid and logs it to MLflow
def test_a_stray_source_row_does_not_move_the_windows(dataset: Dataset, tmp_path: Path) -> None:
    strays = dataset.interactions.iloc[[0]].copy()
    strays[C.TIMESTAMP] = pd.Timestamp(FUTURE)
    polluted = Dataset(dataset.residents, dataset.communities, dataset.services,
                       pd.concat([dataset.interactions, strays], ignore_index=True),
                       dataset.resident_ids, dataset.service_ids, {})
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.warns(StrayRowsWarning, match=r"1 interaction\(s\) dated after"):
        result = train(polluted, tracking_uri=uri, model_name="stray", config=FAST,
                       artifact_location=(tmp_path / "art").resolve().as_uri(),
                       feedback=_log(_store_with_strays(dataset, tmp_path / "feedback.db")))
    assert result.test_window[1] == str(dataset.history_end())
    assert result.dropped == {"interactions_out_of_time": 1, "feedback_out_of_time": 3}
    mlflow.set_tracking_uri(uri)
    run = mlflow.get_run(result.run_id)
    assert run.data.metrics["data.interactions_out_of_time"] == 1
    assert run.data.metrics["feedback.out_of_time_rows"] == 3


@pytest.mark.slow  # trains the hybrid and logs it to MLflow
def test_train_with_a_2099_feedback_event_trains_and_reports_it(community_dir: Path, dataset: Dataset,
                                                               tmp_path: Path) -> None:
    url = _store_with_strays(dataset, tmp_path / "feedback.db")
    done = _linli("train", "--data", str(community_dir), "--feedback", url, "--json", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["dropped"]["feedback_out_of_time"] == 3
    assert report["feedback"]["out_of_time_rows"] == 3
    assert "3 feedback row(s) dated after" in done.stderr


def test_too_few_residents_is_a_sentence_not_a_traceback(community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    events = community.frames["interactions"]
    busiest = events[C.RESIDENT].value_counts().index[0]
    residents = community.frames["residents"]
    for name, frame in community.frames.items():
        if name == "residents":
            frame = residents[residents[C.RESIDENT] == busiest]
        elif name == "interactions":
            frame = events[events[C.RESIDENT] == busiest]
        frame.to_parquet(folder / f"{name}.parquet")
    done = _linli("train", "--data", str(folder), "--feedback", "none", data_dir=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "residents with book, use or rate events in the last" in done.stderr
    assert "are needed to train; found 1" in done.stderr


def test_no_events_at_all_is_a_sentence_too(community: SyntheticCommunity, tmp_path: Path) -> None:
    folder = tmp_path / "header"
    folder.mkdir()
    for name, frame in community.frames.items():
        if name == "interactions":
            frame.iloc[:0].to_csv(folder / "interactions.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet")
    done = _linli("train", "--data", str(folder), "--feedback", "none", data_dir=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "are needed to train; found 0" in done.stderr


def test_require_residents_counts_each_window(dataset: Dataset) -> None:
    require_residents(dataset, test_weeks=4, label_weeks=3, minimum=10)
    with pytest.raises(NotEnoughResidentsError, match=r"at least 100000 residents .* found \d+"):
        require_residents(dataset, test_weeks=4, label_weeks=3, minimum=100_000)
