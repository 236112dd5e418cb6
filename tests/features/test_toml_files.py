"""Every settings file reads the same way: missing, unreadable and malformed files name the file and its role."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.toml_files import read_toml


class CallerError(ValueError):
    """Stands for a caller's own error type (TrainConfigError, LexiconError, ...)."""


def test_a_valid_file_gives_its_table(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('[hybrid]\nseed = 3\nname = "邻里"\n', encoding="utf-8")
    assert read_toml(path, CallerError, "training config") == {"hybrid": {"seed": 3, "name": "邻里"}}


def test_a_missing_file_is_the_callers_error_naming_file_and_role(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(CallerError, match=r"training config .*nope\.toml does not exist"):
        read_toml(path, CallerError, "training config")


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[hybrid\nseed = 3\n", encoding="utf-8")
    with pytest.raises(CallerError, match=r"lexicon file .*broken\.toml is not valid TOML: .*line 1"):
        read_toml(path, CallerError, "lexicon file")


def test_a_folder_or_binary_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(CallerError, match="cannot read search space"):
        read_toml(tmp_path, CallerError, "search space")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CallerError, match=r"bin\.toml"):
        read_toml(binary, CallerError, "search space")
