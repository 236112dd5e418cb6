"""What every ``linli`` command module shares: the app, common options and the error exit."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from features.errors import StrayRowsWarning

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(help="Linli (邻里): resident profiling and service recommendation for smart communities.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

DataOption = Annotated[str, typer.Option("--data", help="Folder of CSV/Parquet tables, or a database URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
#: The feedback store a command reads or changes (served lists, feedback, requests, the audit log, the ledger).
StoreOption = Annotated[str | None, typer.Option(
    "--store", help="Feedback store URL; default the API's (LINLI_DATABASE_URL, else <data_dir>/feedback.db).")]


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


NowOption = Annotated[str | None, typer.Option(
    "--now", help="End of the history, local time (e.g. 2026-11-02T00:00); events at or after it are dropped and "
                  "counted. Default: the clock plus 10 minutes.")]


@contextmanager
def stray_rows_reported() -> Iterator[None]:
    """Print each dropped-rows warning as one ``warning:`` line on stderr (the count is in the output too)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StrayRowsWarning)
        try:
            yield
        finally:
            for item in caught:
                if issubclass(item.category, StrayRowsWarning):
                    typer.secho(f"warning: {item.message}", err=True, fg=typer.colors.YELLOW)
                else:
                    warnings.showwarning(item.message, item.category, item.filename, item.lineno)


def parse_now(value: str | None) -> pd.Timestamp | None:
    """``--now`` as a timestamp (``None`` when not given); a bad value ends the command with exit code 2."""
    import pandas as pd

    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except ValueError as exc:
        raise fail(f"--now {value!r} is not a timestamp; use ISO 8601, e.g. 2026-11-02T00:00") from exc
