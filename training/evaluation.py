"""Offline evaluation of recommenders on one held-out time window, overall, per persona and cold start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.dataset import Dataset
from profiling.config import ProfilingConfig
from profiling.profile import profile_dataset
from training.metrics import evaluate
from training.relevance import service_resident_counts
from training.splits import TimeSplit


class Ranking(Protocol):
    """Anything that lists each resident's top-``k`` services: a fitted recommender, a true-preference oracle."""

    def recommend(self, resident_ids: pd.Series | np.ndarray | list[str], k: int = 10) -> pd.DataFrame:
        """``resident_id, service_id, score, rank`` rows (see :meth:`recommenders.base.Recommender.recommend`)."""
        ...


@dataclass(frozen=True)
class EvaluationWindow:
    """What every model is judged on: the test truth, its residents, personas and the cold-start set."""

    split: TimeSplit
    truth: pd.DataFrame
    residents: np.ndarray
    personas: pd.DataFrame
    cold_start: pd.Index
    popularity: pd.Series
    n_services: int
    k: int
    categories: pd.Series | None = None

    @classmethod
    def build(cls, dataset: Dataset, split: TimeSplit, k: int, seed: int,
              profiling: ProfilingConfig | None = None) -> EvaluationWindow:
        """Truth of the test window; personas tagged from features at the test start (no peeking), with the
        thresholds of ``profiling`` (default: the shipped ``personas.toml``)."""
        truth = split.truth(dataset, "test")
        profile = profile_dataset(dataset, cutoff=split.test_start, seed=seed, config=profiling)
        before = dataset.until(split.test_start).interactions
        return cls(split=split, truth=truth, residents=pd.unique(truth[C.RESIDENT].to_numpy(dtype=object)),
                   personas=profile.personas.tags, cold_start=split.cold_start(dataset, "test"),
                   popularity=service_resident_counts(before, dataset.service_ids.external),
                   n_services=len(dataset.service_ids), k=k,
                   categories=dataset.services.set_index(C.SERVICE)[C.CATEGORY])

    def score(self, model: Ranking) -> dict[str, Any]:
        """All metrics of ``model`` (fitted before the test start) on this window."""
        return self.score_lists(model.recommend(self.residents, self.k))

    def score_lists(self, recommendations: pd.DataFrame) -> dict[str, Any]:
        """All metrics of a recommendation table for this window's residents (see :func:`training.evaluate`)."""
        return evaluate(recommendations, self.truth, self.k, popularity=self.popularity,
                        n_services=self.n_services, groups=self.personas, cold_start=self.cold_start,
                        categories=self.categories)

    def persona_counts(self) -> dict[str, int]:
        """Test residents per persona."""
        tagged = self.personas.reindex(self.residents).fillna(False)
        return {str(p): int(tagged[p].sum()) for p in tagged.columns}
