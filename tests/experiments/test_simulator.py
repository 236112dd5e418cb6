"""The closed loop end to end: ``linli simulate`` starts a real API, simulated residents use it over HTTP, Linli
retrains on their feedback (real MLflow, real SQLite feedback store) and the retrained model serves better."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.simulated_residents import SimulatedResidents, TruePreferences, examine_probability
from experiments.simulator import parse_keys
from features.sources.synthetic import generate_community


def _linli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"))}
    return subprocess.run([sys.executable, "-m", "linli", *args], capture_output=True, text=True, timeout=600,
                          env={**env, "OPENBLAS_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_community(residents=1500, seed=5).write(tmp_path_factory.mktemp("sim-community"))


def test_two_days_the_retrained_model_beats_the_first(community: Path, tmp_path: Path) -> None:
    done = _linli("simulate", "--data", str(community), "--days", "2", "--residents-per-day", "1500",
                  "--workdir", str(tmp_path / "linli"), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    days = report["days"]
    assert [d["day"] for d in days] == [1, 2]
    for row in days:
        assert {"day", "model_version", "ctr", "booking_rate", "use_rate", "mean_rating", "lists", "impressions",
                "promoted"} <= set(row)
        assert row["lists"] == 1500 and row["impressions"] >= 1500 * 9
        assert 0 <= row["booking_rate"] <= row["ctr"] <= 1
    first, second = days
    assert first["model_version"] == "1" and first["promoted"] is True and first["trained_version"] == "2"
    assert any(reason.startswith("online:") for reason in first["gate"])
    assert second["model_version"] == "2" and second["promoted"] is None
    assert second["ctr"] > first["ctr"]
    assert second["expected_ctr"] > first["expected_ctr"]
    comparison = report["comparison"]
    assert comparison["first_version"] == "1" and comparison["second_version"] == "2"
    assert comparison["second_beats_first"] is True
    assert (tmp_path / "linli" / "feedback.db").exists()


def test_simulate_needs_a_generated_community(tmp_path: Path) -> None:
    done = _linli("simulate", "--data", str(tmp_path), "--days", "1")
    assert done.returncode == 2
    assert "ground_truth.parquet not found" in done.stderr


def test_residents_react_by_true_preference(community: Path) -> None:
    truth = TruePreferences.read(community)
    residents = SimulatedResidents(truth, seed=0)
    resident = str(truth.residents[0])
    scores = truth.scores[0]
    ranked = [str(truth.services[j]) for j in np.argsort(-np.nan_to_num(scores, nan=-np.inf))]
    best, worst = ranked[:10], [s for s in ranked if np.isfinite(truth.of(resident, [s])[0])][-10:]
    assert residents.expected_clicks(resident, best).sum() > 5 * residents.expected_clicks(resident, worst).sum()
    events = [e for _ in range(200) for e in residents.react("r", resident, best, pd.Timestamp("2026-11-01 12:00"))]
    clicks = [e["service_id"] for e in events if e["event"] == "click"]
    assert clicks and set(clicks) <= set(best)
    assert sum(e["event"] == "impression" for e in events) == 200 * len(best)
    assert all(e["timestamp"].startswith("2026-11-01") for e in events)
    assert examine_probability(np.array([1]))[0] == 1.0


def test_keys_come_from_the_api_keys_setting() -> None:
    assert parse_keys("platform:P1, admin:A1\nplanner:X") == {"platform": "P1", "admin": "A1", "planner": "X"}
    assert parse_keys("admin:A1") == {"admin": "A1", "platform": "A1"}
