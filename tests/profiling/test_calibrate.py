"""Persona calibration: a community whose definitions differ from the shipped thresholds, label files, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.errors import DataValidationError
from features.sources import load_folder
from features.sources.synthetic import generate_community
from profiling import PersonaRules, load_config, persona_f1, truth_personas
from profiling.calibrate import calibrate
from profiling.features import profiling_features
from profiling.labels import read_labels, write_labels


@pytest.fixture(scope="module")
def other_city() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and true labels of a 2,500-resident community generated with the ``other_city`` definitions."""
    community = generate_community(residents=2500, seed=11, definitions="other_city")
    dataset = community.dataset()
    features = profiling_features(dataset, dataset.history_end())
    return features, truth_personas(community.truth, features.index)


def test_other_city_definitions_relabel_migrants_by_stay(other_city: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, truth = other_city
    recent_registered = (features["is_floating"] == 0) & (features["months_resident"] < 12)
    settled_registered = (features["is_floating"] == 0) & features["months_resident"].between(12, 36)
    assert truth.loc[recent_registered, "migrant"].all()
    assert settled_registered.sum() > 20 and not truth.loc[settled_registered, "migrant"].any()
    assert features["departure_hour"].isna().all()  # commuting is latent there


def test_calibration_on_300_labels_improves_a_misdefined_community(
        other_city: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, truth = other_city
    labelled = truth.iloc[np.random.default_rng(0).choice(len(truth), 300, replace=False)]
    result = calibrate(features, labelled, folds=3, bootstrap=100)
    macro = result.macro()
    assert macro["after"] > macro["before"] + 0.02
    assert result.after["migrant"] > result.before["migrant"]
    assert result.config.migrant.max_months_resident < 36
    for name in ("before", "after", "ceiling"):
        assert set(result.intervals[name]) == set(result.before)
        for persona, (low, high) in result.intervals[name].items():
            assert low <= getattr(result, name)[persona] <= high or low == high, (name, persona)
    everyone_before = np.mean(list(persona_f1(PersonaRules().tag(features).tags, truth).values()))
    everyone_after = np.mean(list(persona_f1(PersonaRules(result.config).tag(features).tags, truth).values()))
    assert everyone_after > everyone_before + 0.03
    reasons = PersonaRules(result.config).tag(features).reason_lists()
    assert all(lines for lines, tagged in zip(reasons, PersonaRules(result.config).tag(features).tags.any(axis=1),
                                              strict=True) if tagged)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_label_file_names_row_and_column(tmp_path: Path) -> None:
    ids = ["R1", "R2", "R3"]
    path = _write(tmp_path / "labels.csv", "resident_id,personas\nR1,elderly;migrant\nR2,pensioner\nR9,\nR1,\n")
    with pytest.raises(DataValidationError) as caught:
        read_labels(path, ids)
    text = str(caught.value)
    assert "row 2, column 'personas'" in text and "pensioner" in text
    assert "row 3, column 'resident_id'" in text and "R9" in text
    assert "row 4, column 'resident_id'" in text and "duplicate" in text
    missing = _write(tmp_path / "nocol.csv", "resident,personas\nR1,\n")
    with pytest.raises(DataValidationError, match="column 'resident_id': required column is missing"):
        read_labels(missing, ids)


def test_labels_read_empty_as_none_applies(tmp_path: Path) -> None:
    path = _write(tmp_path / "labels.csv", "resident_id,personas\nR1, elderly ; migrant\nR2,\n")
    labels = read_labels(path, ["R1", "R2"])
    assert labels.loc["R1"].sum() == 2 and labels.loc["R1", "migrant"]
    assert not labels.loc["R2"].any()


def _linli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linli", *args], capture_output=True, text=True, timeout=600)


def test_cli_calibrates_and_profile_uses_the_written_toml(community_dir: Path, tmp_path: Path) -> None:
    from features.sources.synthetic import read_ground_truth

    truth = read_ground_truth(community_dir)
    assert truth is not None
    sample = truth.sample(150, random_state=3)
    labels = truth_personas(sample, pd.Index(sample["resident_id"], name="resident_id"))
    label_file = write_labels(labels, tmp_path / "labels.csv")
    out = tmp_path / "calibrated.toml"
    done = _linli("profile", "calibrate", "--data", str(community_dir), "--labels", str(label_file),
                  "--out", str(out), "--folds", "3", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for name in ("before", "after", "ceiling"):
        assert set(report[name]) == set(labels.columns)
        assert all(0.0 <= v <= 1.0 for v in report[name].values())
    config = load_config(out)  # the written file is a valid profiling config
    profiled = _linli("profile", "--data", str(community_dir), "--personas", str(out), "--json")
    assert profiled.returncode == 0, profiled.stderr
    dataset = load_folder(community_dir)
    expected = PersonaRules(config.personas).tag(profiling_features(dataset, dataset.history_end())).counts()
    assert json.loads(profiled.stdout)["personas"] == expected

    bad = _write(tmp_path / "bad.csv", "resident_id,personas\nR0000001,pensioner\n")
    failed = _linli("profile", "calibrate", "--data", str(community_dir), "--labels", str(bad), "--out",
                    str(tmp_path / "x.toml"))
    assert failed.returncode == 2
    assert "row 1, column 'personas'" in failed.stderr


def test_generate_refuses_unknown_persona_definitions(tmp_path: Path) -> None:
    done = _linli("generate", "--residents", "50", "--persona-definitions", "atlantis", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "atlantis" in done.stderr and "other_city" in done.stderr
