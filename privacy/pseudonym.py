"""HMAC-SM3 pseudonyms of resident ids, applied where data enters Linli (loaders, ``linli generate``, the API).

A pseudonym is ``ps_`` and the first 60 hex digits (240 bits) of HMAC-SM3(key, external id): 63 characters,
inside the 64-character id rule of :data:`features.schema.MAX_ID_LENGTH`, and recognisable, so pseudonymising
is idempotent (a pseudonym is never hashed again: a table written by ``linli generate`` can be loaded again, the
feedback store's ids match the loaders'). SM3 comes from the platform's OpenSSL through :mod:`hmac`.

Without ``LINLI_PSEUDONYM_KEY`` every function here returns ids unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Final

import pandas as pd

from privacy.settings import privacy_settings

PREFIX: Final = "ps_"
HEX_DIGITS: Final = 60
PSEUDONYM_LENGTH: Final = len(PREFIX) + HEX_DIGITS
#: Columns holding resident ids in Linli's tables (the contract's name).
RESIDENT_COLUMN: Final = "resident_id"
_PATTERN: Final = re.compile(rf"{PREFIX}[0-9a-f]{{{HEX_DIGITS}}}")
_DIGEST: Final = "sm3"


class PseudonymKeyError(ValueError):
    """The pseudonym key is unusable (empty), or SM3 is missing from the platform's OpenSSL."""


def is_pseudonym(value: str) -> bool:
    """Whether ``value`` already is a pseudonym (``ps_`` and 60 lower-case hex digits)."""
    return _PATTERN.fullmatch(value) is not None


class Pseudonymiser:
    """Turns external ids into HMAC-SM3 pseudonyms under one key.

    Parameters
    ----------
    key : bytes
        The HMAC key (``LINLI_PSEUDONYM_KEY`` as UTF-8).

    Examples
    --------
    >>> p = Pseudonymiser(b"a long random secret")
    >>> p.one("R0000001") == p.one(p.one("R0000001"))
    True
    """

    def __init__(self, key: bytes) -> None:
        if not key:
            raise PseudonymKeyError("LINLI_PSEUDONYM_KEY is empty; set a long random secret "
                                    "(`linli privacy keygen` prints one) or unset it")
        if _DIGEST not in hashlib.algorithms_available:
            raise PseudonymKeyError("this Python's OpenSSL has no SM3; install an OpenSSL 1.1.1+ build with SM3")
        self._key = key

    def one(self, external_id: str) -> str:
        """The pseudonym of one id (a pseudonym is returned as it is)."""
        if is_pseudonym(external_id):
            return external_id
        return PREFIX + hmac.digest(self._key, external_id.encode(), _DIGEST).hex()[:HEX_DIGITS]

    def many(self, external_ids: Iterable[str]) -> list[str]:
        """Pseudonyms of many ids, in order (the bulk path: one hex conversion for all of them)."""
        ids = list(external_ids)
        key, digest, size, step = self._key, hmac.digest, HEX_DIGITS // 2, HEX_DIGITS
        if not any(value.startswith(PREFIX) for value in ids):  # the usual case: none is a pseudonym yet
            blob = b"".join([digest(key, value.encode(), _DIGEST)[:size] for value in ids]).hex()
            return [PREFIX + blob[at:at + step] for at in range(0, len(blob), step)]
        return [self.one(value) for value in ids]

    def series(self, ids: pd.Series) -> pd.Series:
        """A column of ids pseudonymised (each distinct id hashed once; missing values stay missing)."""
        present = ids.dropna()
        distinct = pd.unique(present.map(_text))
        mapping = dict(zip(distinct, self.many(distinct), strict=True))
        out = ids.astype(object).copy()
        out.loc[present.index] = present.map(_text).map(mapping)
        return out.astype("string") if isinstance(ids.dtype, pd.StringDtype) else out


@lru_cache(maxsize=4)
def _for_key(key: str) -> Pseudonymiser:
    return Pseudonymiser(key.encode())


def pseudonymiser() -> Pseudonymiser | None:
    """The pseudonymiser of ``LINLI_PSEUDONYM_KEY``, or ``None`` when no key is set."""
    secret = privacy_settings().pseudonym_key
    return None if secret is None else _for_key(secret.get_secret_value())


def pseudonymise(external_id: str) -> str:
    """One id as stored: its pseudonym when a key is set, else unchanged."""
    p = pseudonymiser()
    return external_id if p is None else p.one(external_id)


def pseudonymise_frames(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Copies of ``frames`` whose ``resident_id`` columns hold pseudonyms (the frames as they are without a key)."""
    p = pseudonymiser()
    if p is None:
        return dict(frames)
    out = {}
    for name, frame in frames.items():
        if RESIDENT_COLUMN in frame.columns:
            frame = frame.copy()
            frame[RESIDENT_COLUMN] = p.series(frame[RESIDENT_COLUMN])
        out[name] = frame
    return out


def _text(value: object) -> str:
    """An id as text: integral numbers without ``.0`` (a column of numeric ids read from CSV)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
