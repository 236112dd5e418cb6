"""Feedback from a real SQLite feedback store becomes interactions of the next retrain."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from features.columns import Columns as C
from features.dataset import Dataset
from recommenders.label_strategies import window_labels
from serving.feedback_models import FeedbackEvent, ServedItem, ServedList
from serving.store import FeedbackStore
from training.feedback_data import FeedbackLog, feedback_interactions, merge_feedback

SERVED_AT = datetime(2026, 11, 1, 9, 30)


@pytest.fixture
def log(dataset: Dataset, tmp_path: Path) -> FeedbackLog:
    """One list of three services to a known resident: a click on the first, nothing on the others; plus a list
    to an unknown resident and one naming an unknown service."""
    resident = str(dataset.resident_ids.external[0])
    services = [str(s) for s in dataset.service_ids.external[:3]]
    with FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}") as store:
        store.create_schema()
        store.log_served_many([
            ServedList(request_id="r1", resident_id=resident, model_version="1", served_at=SERVED_AT,
                       items=[ServedItem(service_id=s, position=i + 1, score=1.0) for i, s in enumerate(services)]),
            ServedList(request_id="r2", resident_id="NOT-A-RESIDENT", model_version="1", served_at=SERVED_AT,
                       items=[ServedItem(service_id=services[0], position=1, score=1.0)]),
            ServedList(request_id="r3", resident_id=resident, model_version="1", served_at=SERVED_AT,
                       items=[ServedItem(service_id="NOT-A-SERVICE", position=1, score=1.0)]),
        ])
        clicked = {"request_id": "r1", "resident_id": resident, "service_id": services[0], "channel": "online"}
        store.add_events([FeedbackEvent(**clicked, event="impression", timestamp=datetime(2026, 11, 1, 9, 31)),
                          FeedbackEvent(**clicked, event="click", timestamp=datetime(2026, 11, 1, 9, 32))])
        return FeedbackLog(store.served(), store.events())


def test_silent_served_items_become_impressions_at_served_time(log: FeedbackLog) -> None:
    rows, added = feedback_interactions(log)
    assert added == 4  # r1's two unclicked services, r2's and r3's single items
    impressions = rows[(rows[C.EVENT] == "impression") & (rows[C.TIMESTAMP] == pd.Timestamp(SERVED_AT))]
    assert len(impressions) == 4
    assert set(rows[C.EVENT]) == {"impression", "click"}
    assert rows[C.TIMESTAMP].is_monotonic_increasing


def test_merge_adds_feedback_and_counts_what_it_drops(dataset: Dataset, log: FeedbackLog) -> None:
    merged, counts = merge_feedback(dataset, log)
    assert counts.unknown_resident_rows == 1 and counts.unknown_service_rows == 1
    assert counts.added == 4 and counts.events == 2 and counts.duplicate_rows == 0
    assert len(merged.interactions) == len(dataset.interactions) + 4
    resident = str(dataset.resident_ids.external[0])
    mine = merged.interactions[(merged.interactions[C.RESIDENT] == resident)
                               & (merged.interactions[C.TIMESTAMP] >= pd.Timestamp(SERVED_AT))]
    assert sorted(mine[C.EVENT].astype(str)) == ["click", "impression", "impression", "impression"]
    assert merged.history_end() == pd.Timestamp("2026-11-02")


def test_merging_the_same_feedback_twice_adds_nothing(dataset: Dataset, log: FeedbackLog) -> None:
    merged, _ = merge_feedback(dataset, log)
    again, counts = merge_feedback(merged, log)
    assert counts.added == 0 and counts.duplicate_rows == 4
    assert again is merged


def test_impressions_without_clicks_are_negatives_for_the_ranker(dataset: Dataset, log: FeedbackLog) -> None:
    merged, _ = merge_feedback(dataset, log)
    window = merged.interactions[merged.interactions[C.TIMESTAMP] >= pd.Timestamp(SERVED_AT)]
    labels = window_labels(window)
    clicked = str(dataset.service_ids.external[0])
    assert labels[C.SERVICE].tolist() == [clicked]  # the two passed-over services carry no positive label


def test_a_log_without_the_store_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="served lacks column"):
        FeedbackLog(pd.DataFrame({"x": [1]}), pd.DataFrame())


def test_train_names_a_feedback_store_it_cannot_open(community_dir: Path, tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'nowhere' / 'feedback.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"))}
    done = subprocess.run([sys.executable, "-m", "linli", "train", "--data", str(community_dir), "--feedback", missing],
                          capture_output=True, text=True, timeout=300, env={**env, "LINLI_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert f"--feedback {missing}: no such database file" in done.stderr
