"""One file format for everything Linli pickles (fitted models, model bundles).

A file holds ``{"format", "kind", "object"}``; reading checks the format and the object's class, so a
wrong or damaged file is a :class:`ModelFileError` that names the file, never a bare unpickling error.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TypeVar

from recommenders.errors import ModelFileError

FORMAT = 1
T = TypeVar("T")


def write_object(obj: object, path: str | Path, kind: str) -> Path:
    """Pickle ``obj`` to ``path`` (parents created), labelled with ``kind``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump({"format": FORMAT, "kind": kind, "object": obj}, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def read_object(path: str | Path, expected: type[T]) -> T:
    """Read a file written by :func:`write_object`; it must hold an instance of ``expected``.

    Raises
    ------
    ModelFileError
        The file is missing, damaged, of another format, or holds something else.
    """
    try:
        with Path(path).open("rb") as handle:
            payload = pickle.load(handle)  # Linli's own model files only
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ModuleNotFoundError) as exc:
        raise ModelFileError(f"{path}: cannot read a Linli model file: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a Linli model file of format {FORMAT}")
    obj = payload.get("object")
    if not isinstance(obj, expected):
        raise ModelFileError(f"{path}: holds {payload.get('kind')!r}, not a {expected.__name__}")
    return obj
