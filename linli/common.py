"""What every ``linli`` command module shares: the app, common options and the error exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Linli (邻里): resident profiling and service recommendation for smart communities.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

DataOption = Annotated[str, typer.Option("--data", help="Folder of CSV/Parquet tables, or a database URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` in red on stderr; raise the returned exit (code 2)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)


def feedback_store_url(url: str | None) -> tuple[str, bool]:
    """The feedback store URL in force (``url``, else the API's) and whether it can hold data: ``False`` only for
    a SQLite file that does not exist yet (it appears once the API has served a list)."""
    from serving.settings import ServingSettings

    url = url or ServingSettings().store_url()
    return url, not (url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists())
