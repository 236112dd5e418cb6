"""MovieLens-100K for tests: fetched once into the project's cache (``data/cache``, git-ignored), else skipped.

``LINLI_TEST_CACHE`` points elsewhere. When the package index cannot be reached and nothing is cached, the
tests that need the real data skip with the reason; the adapter's logic is tested on hand-written files.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

from features.errors import SourceError
from features.sources.movielens import fetch_movielens_100k

CACHE = Path(os.environ.get("LINLI_TEST_CACHE", Path(__file__).resolve().parents[1] / "data" / "cache"))


@cache
def _fetch() -> Path | str:
    try:
        return fetch_movielens_100k(CACHE, timeout_s=20)
    except SourceError as exc:
        return str(exc)


def movielens_folder() -> Path:
    """The cached ``ml-100k`` folder, or skip the calling test with the download error."""
    found = _fetch()
    if isinstance(found, str):
        pytest.skip(f"MovieLens-100K unavailable: {found}")
    return found
