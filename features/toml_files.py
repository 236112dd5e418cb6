"""Reading a TOML settings file with errors that name the file and what it was meant to hold.

Every configuration file Linli reads (training configs, feature sets, persona rules, lexicons, search spaces,
synthetic persona definitions) goes through :func:`read_toml`, so a missing file, an unreadable one and a file
that is not TOML read the same way everywhere, each raised as the caller's own error type.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(path: str | Path, error: type[Exception], what: str) -> dict[str, Any]:
    """The parsed table of a TOML file.

    Parameters
    ----------
    path
        The file to read.
    error
        The exception type to raise (the caller's, so that its callers catch what they already catch).
    what
        What the file holds, in words, for the message: ``"training config"``, ``"lexicon file"``.

    Returns
    -------
    dict
        The top-level table.

    Raises
    ------
    error
        ``"<what> <path> does not exist"``, ``"<what> <path> is not valid TOML: <line and column>"`` or
        ``"cannot read <what> <path>: <reason>"``.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise error(f"{what} {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from exc
