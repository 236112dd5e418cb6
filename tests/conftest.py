"""Shared fixtures: one small synthetic community, generated once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from features import Dataset
from features.sources.synthetic import SyntheticCommunity, generate_community

FIXTURE_RESIDENTS = 3000
FIXTURE_SEED = 7


@pytest.fixture(scope="session")
def community() -> SyntheticCommunity:
    """A 3,000-resident synthetic community (seed 7)."""
    return generate_community(residents=FIXTURE_RESIDENTS, seed=FIXTURE_SEED)


@pytest.fixture(scope="session")
def dataset(community: SyntheticCommunity) -> Dataset:
    """The validated dataset of :func:`community`."""
    return community.dataset()


@pytest.fixture(scope="session")
def community_dir(community: SyntheticCommunity, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`community` written to a folder as Parquet, with its ground truth."""
    return community.write(tmp_path_factory.mktemp("community"))
