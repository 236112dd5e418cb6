"""The Laplace mechanism of the planner tables: ε parsing, stable seeded noise, its scale, roll-ups."""

from __future__ import annotations

import math

import numpy as np
import pytest

from privacy.dp import (
    EPSILON_SETTING,
    KEY_SETTING,
    TABLES,
    PlannerDp,
    PlannerPrivacyError,
    parse_epsilon,
    planner_dp,
    project_to_totals,
    release_version,
    roll_up,
)

KEY = b"a test noise key, long enough"


@pytest.mark.parametrize("raw", ["0", "-1", "nan", "NaN", "inf", "-inf", "abc", "1e", " ", 0, -0.5, math.nan, True])
def test_an_invalid_epsilon_is_a_clear_error_naming_the_setting(raw: object) -> None:
    if raw == " ":
        assert parse_epsilon(raw) is None  # blank reads as unset: off
        return
    with pytest.raises(PlannerPrivacyError, match=EPSILON_SETTING):
        parse_epsilon(raw)


def test_valid_epsilons_and_off() -> None:
    assert parse_epsilon(None) is None and parse_epsilon("") is None
    assert parse_epsilon("1.0") == 1.0 and parse_epsilon(" 0.1 ") == 0.1 and parse_epsilon(5) == 5.0


def test_settings_need_a_noise_key_and_fall_back_to_the_pseudonym_key() -> None:
    assert planner_dp("v", {}) is None
    with pytest.raises(PlannerPrivacyError, match=KEY_SETTING):
        planner_dp("v", {EPSILON_SETTING: "1"})
    with pytest.raises(PlannerPrivacyError, match=EPSILON_SETTING):
        planner_dp("v", {EPSILON_SETTING: "-2", KEY_SETTING: "k"})
    fallback = planner_dp("v", {EPSILON_SETTING: "2", "LINLI_PSEUDONYM_KEY": "p"})
    assert fallback is not None and fallback.key == b"p" and fallback.epsilon == 2.0
    own = planner_dp("v", {EPSILON_SETTING: "2", "LINLI_PSEUDONYM_KEY": "p", KEY_SETTING: "n"})
    assert own is not None and own.key == b"n"
    with pytest.raises(PlannerPrivacyError, match=EPSILON_SETTING):
        PlannerDp(float("nan"), KEY, "v")


def test_noise_is_the_same_for_one_version_and_key_and_new_for_another() -> None:
    first = PlannerDp(1.0, KEY, "version-1").noise("usage", (50, 20), 4.0)
    again = PlannerDp(1.0, KEY, "version-1").noise("usage", (50, 20), 4.0)
    assert np.array_equal(first, again)  # a reloaded page, a rebuilt report: nothing new to average
    assert not np.allclose(first, PlannerDp(1.0, KEY, "version-2").noise("usage", (50, 20), 4.0))
    assert not np.allclose(first, PlannerDp(1.0, b"another key", "version-1").noise("usage", (50, 20), 4.0))
    assert not np.allclose(first, PlannerDp(1.0, KEY, "version-1").noise("monthly", (50, 20), 4.0))
    with pytest.raises(ValueError, match="unknown planner table"):
        PlannerDp(1.0, KEY, "v").noise("bogus", (1,), 1.0)


@pytest.mark.parametrize("epsilon", [0.1, 1.0, 5.0])
def test_the_noise_scale_is_sensitivity_over_each_tables_epsilon(epsilon: float) -> None:
    dp = PlannerDp(epsilon, KEY, "scale-test")  # seeded: the same draws on every run, so this cannot flake
    sensitivity = 8.0
    expected = sensitivity * len(TABLES) / epsilon
    assert dp.scale(sensitivity) == pytest.approx(expected)
    draws = dp.noise("segments", (400, 500), sensitivity)  # 200,000 cells
    # Laplace(0, b): E|X| = b and sd = b·√2; 200,000 draws put both within 1 % (the sd of the mean is 0.2 %)
    assert np.mean(np.abs(draws)) == pytest.approx(expected, rel=0.01)
    assert np.std(draws) == pytest.approx(expected * math.sqrt(2), rel=0.02)
    assert abs(np.mean(draws)) < 0.02 * expected


def test_noisy_counts_are_non_negative_integers_around_the_truth() -> None:
    dp = PlannerDp(1.0, KEY, "v")
    values = np.full((300, 300), 10_000, dtype=np.int64)  # far from 0: no clipping
    noisy = dp.noisy_counts("monthly", values, 2.0)
    assert noisy.dtype == np.int64 and (noisy >= 0).all()
    assert np.mean(np.abs(noisy - values)) == pytest.approx(dp.scale(2.0), rel=0.02)
    zeros = dp.noisy_counts("monthly", np.zeros((100, 100), dtype=np.int64), 2.0)
    assert (zeros >= 0).all() and 0.4 < np.mean(zeros == 0) < 0.6  # half the draws are negative: clipped to 0


def test_roll_up_sums_children_into_sorted_parents() -> None:
    values = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int64)
    ids, summed = roll_up(values, np.array(["S2", "S1", "S2"], dtype=object))
    assert list(ids) == ["S1", "S2"] and summed.tolist() == [[3, 4], [6, 8]]


def test_the_release_version_separates_its_parts() -> None:
    assert release_version("ab", "c") != release_version("a", "bc")
    assert release_version(b"x") == release_version("x")
    assert PlannerDp(3.0, KEY, "v").describe({"segments": 8.0})["tables"]["segments"] == {
        "epsilon": 1.0,
        "sensitivity": 8.0,
        "scale": 8.0,
    }


@pytest.mark.parametrize("value", ["nan", "0", "text"])
def test_linli_train_refuses_a_bad_epsilon_before_training(
    value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from typer.testing import CliRunner

    from linli.cli import app

    monkeypatch.setenv(EPSILON_SETTING, "")  # restored after the test: the option writes the process's setting
    monkeypatch.setenv(KEY_SETTING, "k")
    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path), "--planner-epsilon", value])
    assert result.exit_code == 2 and EPSILON_SETTING in result.output


def test_projection_gives_non_negative_integers_with_the_parents_totals() -> None:
    rng = np.random.default_rng(3)
    for _ in range(500):
        n, m = int(rng.integers(1, 8)), int(rng.integers(1, 6))
        values = rng.laplace(0, 20, (n, m)) + rng.integers(0, 40, (n, m))
        totals = np.maximum(np.rint(values.sum(axis=0)), 0)
        projected = project_to_totals(values, totals)
        assert projected.dtype == np.int64 and (projected >= 0).all() and (projected.sum(axis=0) == totals).all()
    # the Euclidean projection: the negative children go to 0, the rest share the shortfall equally
    assert project_to_totals(np.array([[5.0, -3.0], [1.0, -4.0], [-2.0, 10.0]]), np.array([4.0, 3.0])).tolist() == [
        [4, 0],
        [0, 0],
        [0, 3],
    ]
    assert project_to_totals(np.array([[2.5], [2.5]]), np.array([5.0])).tolist() == [[3], [2]]  # ties: first
    assert project_to_totals(np.array([[7.0], [9.0]]), np.array([0.0])).tolist() == [[0], [0]]
