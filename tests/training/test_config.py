"""The training config: defaults live in the code, files list only what they change."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import training
from experiments.simulator import SIMULATE_CONFIG
from recommenders.hybrid import HybridConfig
from recommenders.label_strategies import TimeWindowLabels
from training.config import DEFAULT_CONFIG, TrainConfig, TrainConfigError
from training.variants import load_variant, variant_toml


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


#: Settings that are one value although written as tables (the set of generators replaces the default set).
WHOLE = ("hybrid.generators",)


def _leaves(table: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        if isinstance(value, dict) and value and f"{prefix}{key}" not in WHOLE:
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_the_shipped_config_is_package_data_beside_its_reader() -> None:
    assert DEFAULT_CONFIG.parent == Path(training.__file__).parent
    assert TrainConfig.from_toml() == TrainConfig()


@pytest.mark.parametrize("path", [DEFAULT_CONFIG, SIMULATE_CONFIG], ids=["default", "simulate"])
def test_shipped_files_list_only_what_differs_from_the_code(path: Path) -> None:
    with path.open("rb") as handle:
        listed = _leaves(tomllib.load(handle))
    defaults = _leaves(TrainConfig().model_dump(mode="json"))
    repeated = {key for key, value in listed.items() if key in defaults and defaults[key] == value}
    assert not repeated, f"{path.name} repeats defaults of the code: {sorted(repeated)}"


def test_a_partial_table_keeps_the_codes_other_choices(tmp_path: Path) -> None:
    config = TrainConfig.from_toml(_write(tmp_path / "c.toml", "[hybrid.ranker]\nn_estimators = 150\n"))
    assert config.hybrid.ranker.n_estimators == 150
    assert (config.hybrid.ranker.model_dump(exclude={"n_estimators"})
            == HybridConfig().ranker.model_dump(exclude={"n_estimators"}))
    assert load_variant(_write(tmp_path / "v.toml", "[hybrid.rules]\noffline_quota = 1\n")).hybrid.rules == \
        HybridConfig().rules.model_copy(update={"offline_quota": 1})


def test_a_variants_generators_are_the_whole_set_and_written_back_whole(tmp_path: Path) -> None:
    variant = load_variant(_write(tmp_path / "v.toml", "[hybrid.generators.popular]\n[hybrid.generators.als]\n"
                                                       "factors = 16\n"))
    assert variant.hybrid.generators == {"popular": {}, "als": {"factors": 16}}
    assert load_variant(_write(tmp_path / "back.toml", variant_toml(variant))) == variant


def test_the_hybrid_takes_the_configs_seed_unless_it_names_its_own() -> None:
    assert TrainConfig(seed=7).hybrid.seed == 7
    assert TrainConfig(seed=7, hybrid=HybridConfig(labels=TimeWindowLabels(label_weeks=2))).hybrid.seed == 7
    assert TrainConfig(seed=7, hybrid=HybridConfig(seed=3)).hybrid.seed == 3
    assert TrainConfig.model_validate({"seed": 7, "hybrid": {"seed": 3}}).hybrid.seed == 3


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.toml", "test_weeks = 4\n[hybrid]\ncandidates_per_generatr = 5\n")
    with pytest.raises(TrainConfigError, match="candidates_per_generatr"):
        TrainConfig.from_toml(path)
    with pytest.raises(TrainConfigError, match="max_per_categroy"):
        TrainConfig.from_toml(_write(tmp_path / "rules.toml", "[hybrid.rules]\nmax_per_categroy = 2\n"))
