"""One LocalCluster of two worker processes for the scale tests (bounded: 1 GiB and one thread each)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from distributed import Client

from scale.cluster import dask_client


@pytest.fixture(scope="session")
def client() -> Iterator[Client]:
    """A client of a two-worker LocalCluster, started once per session."""
    with dask_client(workers=2, memory_limit="1GiB") as connected:
        yield connected
