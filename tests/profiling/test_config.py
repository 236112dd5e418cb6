"""Profiling configuration: the shipped TOML, partial files and the errors a bad file gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiling import ProfilingConfig, ProfilingConfigError, default_config_path, load_config


def test_shipped_toml_matches_the_schema_defaults() -> None:
    assert default_config_path().name == "personas.toml"
    assert load_config() == ProfilingConfig()


def test_a_partial_file_keeps_the_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[reports]\nk = 5\n[personas.elderly]\nmin_age = 65\n", encoding="utf-8")
    config = load_config(path)
    assert config.reports.k == 5 and config.personas.elderly.min_age == 65
    assert config.segments == ProfilingConfig().segments


@pytest.mark.parametrize(("text", "named"), [
    ("[personas.elderly]\nmin_agee = 65\n", "min_agee"),
    ("[reports]\nk = 0\n", "reports.k"),
    ("[personas.commuter]\ndeparture_hours = [9, 6]\n", "departure_hours"),
    ("[personas]\nuninformative_employment = [\"homemaker\"]\n", "homemaker"),
    ("[segments]\nmin_segments = 8\nmax_segments = 4\n", "min_segments"),
])
def test_bad_keys_and_values_are_named(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfilingConfigError, match=named):
        load_config(path)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ProfilingConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[reports\n", encoding="utf-8")
    with pytest.raises(ProfilingConfigError, match="not valid TOML"):
        load_config(broken)
