"""One file format for everything Linli pickles (fitted models, the model parts of a bundle).

A file is signed (:mod:`recommenders.signing`): its SHA-256 and HMAC are checked before a byte of it is
unpickled, and it is then unpickled by :class:`recommenders.safe_pickle.SafeUnpickler`, which loads known
classes only. The pickle holds ``{"format", "kind", "object"}``; reading checks the format, the kind and the
object's class, so a wrong, damaged, unsigned or foreign file is a :class:`ModelFileError` that names the
file, never a bare unpickling error — and never runs code from the file.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TypeVar

from recommenders.errors import ModelFileError
from recommenders.safe_pickle import safe_loads
from recommenders.signing import read_signed, write_signed

FORMAT = 2
T = TypeVar("T")


def write_object(obj: object, path: str | Path, kind: str) -> Path:
    """Pickle ``obj`` to a signed file at ``path`` (mode 600, parents made 700), labelled with ``kind``."""
    payload = pickle.dumps({"format": FORMAT, "kind": kind, "object": obj}, protocol=pickle.HIGHEST_PROTOCOL)
    return write_signed(path, payload, kind)


def read_object(path: str | Path, expected: type[T]) -> T:
    """Read a file written by :func:`write_object`; it must hold an instance of ``expected``.

    The signature is checked first and only allowlisted classes are unpickled.

    Raises
    ------
    ModelFileError
        The file is missing, unsigned, tampered, signed with another key, damaged, of another format, or
        holds something else.
    """
    kind, data = read_signed(path)
    try:
        payload = safe_loads(data)
    except (pickle.UnpicklingError, EOFError, AttributeError, ModuleNotFoundError, ImportError, TypeError,
            ValueError) as exc:
        raise ModelFileError(f"{path}: cannot read a Linli model file: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("kind") != kind:
        raise ModelFileError(f"{path}: not a Linli model file of format {FORMAT}")
    obj = payload.get("object")
    if not isinstance(obj, expected):
        raise ModelFileError(f"{path}: holds {kind!r}, not a {expected.__name__}")
    return obj
