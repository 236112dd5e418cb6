"""Key rotation: the old-pseudonym → new-pseudonym map of every resident the source still holds, and the
ciphers of the old and new SM4 keys.

HMAC cannot be inverted, so a rotation needs the raw ids once: they are read from the platform's source
(``--data``), mapped in memory and never written. The old keys come from ``LINLI_OLD_PSEUDONYM_KEY`` and
``LINLI_OLD_ENCRYPTION_KEY`` (environment, not the command line, so they stay out of shell histories and the
process list); the new ones are the settings in force.
"""

from __future__ import annotations

import os
from typing import Final

import pandas as pd
import sqlalchemy as sa

from privacy.encryption import Sm4Cipher, parse_key
from privacy.pseudonym import RESIDENT_COLUMN, Pseudonymiser, pseudonymiser

OLD_PSEUDONYM_KEY: Final = "LINLI_OLD_PSEUDONYM_KEY"
OLD_ENCRYPTION_KEY: Final = "LINLI_OLD_ENCRYPTION_KEY"


class RekeyError(ValueError):
    """A rotation cannot start: a key is missing, or the source holds no resident ids."""


def raw_resident_ids(location: str) -> list[str]:
    """The residents table's ids as the source holds them (a folder of CSV/Parquet, or a database URL)."""
    from features.errors import SourceError
    from features.sources.folder import read_folder_frames

    if "://" in location:
        engine = sa.create_engine(location)
        try:
            with engine.connect() as conn:
                ids = pd.read_sql_query(sa.text(f"SELECT {RESIDENT_COLUMN} FROM residents"), conn)[RESIDENT_COLUMN]
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f"{engine.url.render_as_string(hide_password=True)}: cannot read the residents "
                              f"table ({exc.__class__.__name__})") from exc
        finally:
            engine.dispose()
    else:
        ids = read_folder_frames(location)[0]["residents"][RESIDENT_COLUMN]
    values = [str(v) for v in ids.dropna().unique()]
    if not values:
        raise RekeyError(f"{location}: the residents table is empty; a rotation needs the platform's ids")
    return values


def id_map(raw_ids: list[str]) -> dict[str, str]:
    """Old pseudonym → new pseudonym of every id (old key: ``LINLI_OLD_PSEUDONYM_KEY``; new: the settings).

    Raises
    ------
    RekeyError
        If either key is missing, or the source holds pseudonyms already (their raw ids are gone).
    """
    old_key = os.environ.get(OLD_PSEUDONYM_KEY)
    new = pseudonymiser()
    if not old_key or new is None:
        raise RekeyError(f"set {OLD_PSEUDONYM_KEY} to the key the stores were written with and LINLI_PSEUDONYM_KEY "
                         "to the new one")
    old = Pseudonymiser(old_key.encode())
    fresh = old.many(raw_ids)
    if fresh == raw_ids:
        raise RekeyError("the source holds pseudonyms, not the platform's ids: export the raw ids once for the "
                         "rotation")
    return dict(zip(fresh, new.many(raw_ids), strict=True))


def old_cipher() -> Sm4Cipher | None:
    """The cipher of ``LINLI_OLD_ENCRYPTION_KEY`` (``None`` when unset: the store's text was plain)."""
    value = os.environ.get(OLD_ENCRYPTION_KEY)
    return Sm4Cipher(parse_key(value)) if value else None


def new_keys() -> dict[str, str]:
    """Fresh random keys as ``LINLI_*`` settings: a 256-bit pseudonym key and a 128-bit SM4 key (hex)."""
    return {"LINLI_PSEUDONYM_KEY": os.urandom(32).hex(), "LINLI_ENCRYPTION_KEY": os.urandom(16).hex()}
