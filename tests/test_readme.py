"""The README is the user's manual: its commands and contracts must match the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.schema import TABLES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("table", list(TABLES))
def test_every_contract_column_is_documented(table: str) -> None:
    missing = [c for c in TABLES[table].column_names if c not in README]
    assert not missing, f"README does not document {table} columns {missing}"


def test_ci_runs_the_readme_test_command_exactly() -> None:
    assert "bash scripts/test.sh" in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] == [
        "bash scripts/test.sh"]


def test_readme_has_no_unfilled_placeholders() -> None:
    for marker in ("DEMO_OUTPUT", "FEATURE_TABLE", "PROFILE_TABLE", "BENCH_TABLE"):
        assert marker not in README
