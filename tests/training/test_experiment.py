"""Experiments as MLflow runs: variants × seeds as child runs, comparisons with intervals, Optuna on validation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from features.columns import Columns as C
from features.dataset import Dataset
from linli.cli import app
from training.config import TrainConfig, TrainConfigError
from training.experiment import (
    ExperimentData,
    ExperimentError,
    compare_experiment,
    mean_interval,
    run_experiment,
    score_config,
    scoring_window,
)
from training.tuning import apply_params, read_space, tune
from training.variants import load_variant, variant_toml

#: A quick hybrid: few trees, one ranker, two generators (the contract is the same at any size).
QUICK = """
[hybrid]
ranker_bags = 1
[hybrid.ranker]
n_estimators = 20
[hybrid.generators]
popular = {}
als = {}
"""


@pytest.fixture
def quick(tmp_path: Path) -> Path:
    path = tmp_path / "quick.toml"
    path.write_text(QUICK, encoding="utf-8")
    return path


def test_the_validation_window_never_reads_the_test_weeks(dataset: Dataset) -> None:
    config = TrainConfig()
    history, window = scoring_window(dataset, config, "validation")
    test_start = dataset.history_end() - pd.Timedelta(weeks=config.test_weeks)
    assert history.interactions[C.TIMESTAMP].max() < test_start
    assert window.split.end == test_start
    assert window.split.test_start == test_start - pd.Timedelta(weeks=config.test_weeks)


def test_scores_do_not_change_when_the_test_weeks_change(dataset: Dataset, quick: Path) -> None:
    config = load_variant(quick)
    test_start = dataset.history_end() - pd.Timedelta(weeks=config.test_weeks)
    events = dataset.interactions.copy()
    in_test = (events[C.TIMESTAMP] >= test_start).to_numpy()
    rng = np.random.default_rng(0)  # what residents did in the test weeks, scrambled; timestamps kept
    events.loc[in_test, C.SERVICE] = rng.permutation(events.loc[in_test, C.SERVICE].to_numpy())
    scrambled = Dataset(dataset.residents, dataset.communities, dataset.services, events,
                        dataset.resident_ids, dataset.service_ids, dataset.dropped)
    first = score_config(config, dataset, "validation", ("hybrid", "popular"))
    second = score_config(config, scrambled, "validation", ("hybrid", "popular"))
    assert first["hybrid"]["ndcg@10"] == second["hybrid"]["ndcg@10"]
    assert first["popular"]["ndcg@10"] == second["popular"]["ndcg@10"]
    assert score_config(config, dataset, "test", ("popular",))["popular"]["ndcg@10"] != \
        score_config(config, scrambled, "test", ("popular",))["popular"]["ndcg@10"]


def test_run_logs_child_runs_and_compare_gives_means_and_paired_differences(
        community_dir: Path, quick: Path, tmp_path: Path) -> None:
    wider = tmp_path / "wider.toml"
    wider.write_text(QUICK + "\n", encoding="utf-8")
    wider.write_text(QUICK.replace("[hybrid]\n", "[hybrid]\ncandidates_per_generator = 5\n"), encoding="utf-8")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    variants = {"quick": load_variant(quick), "wider": load_variant(wider)}
    result = run_experiment(variants, [1, 2], ExperimentData(str(community_dir)), tracking_uri=uri,
                            artifact_location=(tmp_path / "artifacts").as_uri())
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(result.parent_run_id)
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'")
    assert sorted((c.data.tags["linli.variant"], c.data.tags["linli.seed"]) for c in children) == [
        ("quick", "1"), ("quick", "2"), ("wider", "1"), ("wider", "2")]
    comparison = compare_experiment(result.parent_run_id, tracking_uri=uri)
    logged = {(r["variant"], r["seed"]): r["metrics"]["hybrid"]["ndcg@10"] for r in result.rows}
    by_variant = {row["variant"]: row for row in comparison.rows}
    assert comparison.baseline == "quick"
    assert by_variant["quick"]["difference"] == 0.0
    assert by_variant["wider"]["mean"] == pytest.approx((logged["wider", 1] + logged["wider", 2]) / 2)
    assert by_variant["wider"]["difference"] == pytest.approx(
        (logged["wider", 1] - logged["quick", 1] + logged["wider", 2] - logged["quick", 2]) / 2)
    artifacts = {a.path for a in client.list_artifacts(result.parent_run_id)}
    assert {"comparison.md", "comparison.json"} <= artifacts
    assert "| wider | 2 |" in comparison.table()


def test_mean_interval_is_the_student_t_interval_of_the_mean() -> None:
    mean, low, high = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert high - mean == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
    assert mean - low == pytest.approx(high - mean)
    assert mean_interval([0.5]) == (0.5, 0.5, 0.5)


def test_tune_searches_the_space_and_writes_a_variant_that_reloads(
        community_dir: Path, quick: Path, tmp_path: Path) -> None:
    space = tmp_path / "space.toml"
    space.write_text("[hybrid.candidates_per_generator]\nchoices = [4, 8]\n"
                     "[hybrid.ranker.learning_rate]\nlow = 0.05\nhigh = 0.2\nlog = true\n", encoding="utf-8")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = tune(load_variant(quick), read_space(space), 2, [1], ExperimentData(str(community_dir)),
                  tracking_uri=uri)
    assert result.best_params["hybrid.candidates_per_generator"] in (4, 8)
    assert 0.05 <= result.best_params["hybrid.ranker.learning_rate"] <= 0.2
    assert result.best_value == max(t["ndcg@10"] for t in result.trials)
    written = tmp_path / "best.toml"
    written.write_text(variant_toml(result.best_config), encoding="utf-8")
    assert load_variant(written) == result.best_config
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(result.parent_run_id)
    trials = client.search_runs([parent.info.experiment_id],
                                filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'")
    assert len(trials) == 2


def test_variant_files_list_only_differences(tmp_path: Path) -> None:
    assert variant_toml(load_variant(_write(tmp_path / "empty.toml", ""))) == ""
    changed = load_variant(_write(tmp_path / "k.toml", "k = 5\n[hybrid.ranker]\nnum_leaves = 7\n"))
    assert changed.k == 5 and changed.hybrid.ranker.num_leaves == 7
    assert changed.hybrid.ranker.n_estimators == TrainConfig.from_toml().hybrid.ranker.n_estimators
    assert "num_leaves = 7" in variant_toml(changed)
    with pytest.raises(TrainConfigError, match="colour"):
        load_variant(_write(tmp_path / "bad.toml", "colour = 'red'\n"))


def test_bad_search_spaces_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError, match=r"\[hybrid.ranker.num_leaves\]"):
        read_space(_write(tmp_path / "a.toml", "[hybrid.ranker.num_leaves]\nlow = 10\nhigh = 5\n"))
    with pytest.raises(ExperimentError, match="names no setting"):
        read_space(_write(tmp_path / "b.toml", "title = 'x'\n"))
    with pytest.raises(ExperimentError, match="'colour' is not a table"):
        apply_params(TrainConfig(), {"colour.depth": 3})


def test_the_cli_refuses_bad_arguments_with_exit_2(tmp_path: Path, quick: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    bad_seeds = runner.invoke(app, ["experiment", "run", str(quick), "--seeds", "one"])
    assert bad_seeds.exit_code == 2 and "--seeds" in bad_seeds.output
    missing = runner.invoke(app, ["experiment", "run", str(tmp_path / "nope.toml"), "--seeds", "1"])
    assert missing.exit_code == 2 and "nope.toml" in missing.output
    unknown = runner.invoke(app, ["experiment", "compare", "0123456789abcdef"])
    assert unknown.exit_code == 2 and "0123456789abcdef" in unknown.output


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
