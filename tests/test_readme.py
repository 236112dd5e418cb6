"""The README is the front door and docs/ the manual: the commands, links, paths and contracts they name must
match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from features.schema import TABLES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONTRACTS = (ROOT / "docs" / "data-contracts.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("table", list(TABLES))
def test_every_contract_column_is_documented(table: str) -> None:
    missing = [c for c in TABLES[table].column_names if c not in CONTRACTS]
    assert not missing, f"docs/data-contracts.md does not document {table} columns {missing}"


def test_ci_runs_the_readme_test_command_exactly() -> None:
    assert "bash scripts/test.sh" in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] == [
        "bash scripts/test.sh"]


def test_readme_has_no_unfilled_placeholders() -> None:
    for marker in ("DEMO_OUTPUT", "FEATURE_TABLE", "PROFILE_TABLE", "BENCH_TABLE"):
        assert marker not in README


def test_readme_links_into_docs() -> None:
    assert re.findall(r"\]\((docs/[^)#\s]+)", README), "the README links into docs/"


def test_readme_command_table_names_every_cli_command() -> None:
    from typer.main import get_command

    from linli.cli import app

    root = get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        names += [f"linli {name} {sub}" for sub in subcommands] if subcommands else [f"linli {name}"]
    missing = [n for n in names if f"`{n}" not in README]
    assert not missing, f"the README's command table lacks {missing}"


# ----- docs/ is the manual: what it names must exist -------------------------------------------------------------
DOCS = sorted((ROOT / "docs").rglob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
#: A repository path written in backticks, e.g. `training/default.toml` (globs and placeholders are skipped).
CODE_PATH = re.compile(r"`((?:linli|features|profiling|recommenders|training|serving|experiments|scripts|tests|docs)"
                       r"/[\w./-]+\.(?:py|toml|md|sh|json|png))`")


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def test_the_readme_is_a_front_door() -> None:
    lines = README.count("\n")
    assert lines <= 250, f"README.md has {lines} lines: keep it a front door (about 200) and move the rest to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_between_pages_point_at_files_that_exist(page: Path) -> None:
    targets = re.findall(r"\]\(([^)#\s:]+)(?:#[^)]*)?\)", _text(page))
    # ../shared/ (the team's design and style guides) lies beside the checkout, not in it: a clean clone
    # elsewhere has no such folder, so only the repository's own links are checked
    missing = [t for t in targets if not t.startswith("../shared/") and not (page.parent / t).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_paths_named_in_the_pages_exist(page: Path) -> None:
    missing = sorted({p for p in CODE_PATH.findall(_text(page)) if not (ROOT / p).exists()})
    assert not missing, f"{page.relative_to(ROOT)} names files that do not exist: {missing}"


def test_docs_document_every_cli_command() -> None:
    from typer.main import get_command

    from linli.cli import app

    manual = "\n".join(_text(page) for page in DOCS)
    missing = []
    for name, command in get_command(app).commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None) or {}
        missing += [n for n in ([f"linli {name} {sub}" for sub in subcommands] or [f"linli {name}"])
                    if n not in manual]
    assert not missing, f"docs/ does not document {missing}"
