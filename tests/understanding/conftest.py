"""One request model per test session, built as the CLI builds it: the synthetic catalogue, the corpus's train part."""

from __future__ import annotations

import pandas as pd
import pytest

from features.sources.synthetic.catalogue import catalogue_frame
from understanding.corpus import load_corpus, split_corpus
from understanding.model import RequestModel


@pytest.fixture(scope="session")
def services() -> pd.DataFrame:
    return catalogue_frame()


@pytest.fixture(scope="session")
def corpus_parts() -> tuple[pd.DataFrame, pd.DataFrame]:
    return split_corpus(load_corpus())


@pytest.fixture(scope="session")
def model(services: pd.DataFrame, corpus_parts: tuple[pd.DataFrame, pd.DataFrame]) -> RequestModel:
    return RequestModel.build(services, corpus=corpus_parts[0])


@pytest.fixture(scope="session")
def service_id(services: pd.DataFrame):  # noqa: ANN201 - a small lookup helper
    ids = dict(zip(services["name_zh"], services["service_id"], strict=True))
    return ids.__getitem__
