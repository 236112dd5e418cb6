"""The model bundle: everything serving needs, in one self-contained object.

Id maps, feature statistics (the fitted feature pipeline), the persona model and segments, the
generators' factors, the ranker, the rules, the config and the data fingerprint all travel together,
so a bundle loaded anywhere answers exactly as it did when it was trained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from profiling.profile import ResidentProfile
from recommenders.hybrid import HybridRecommender
from recommenders.persistence import read_object, write_object


@dataclass
class ModelBundle:
    """A trained Linli model as served.

    Attributes
    ----------
    model : HybridRecommender
        Generators, feature pipeline, ranker and rules, fitted at ``cutoff``.
    profile : ResidentProfile
        Persona tags with reasons, learned segments and community types at ``cutoff``.
    data_fingerprint : str
        :meth:`features.Dataset.fingerprint` of the training data.
    cutoff : pandas.Timestamp
        The model knows the interactions strictly before it.
    config : dict
        The training configuration, to rebuild the model.
    metrics : dict
        Offline metrics measured before the final refit.
    """

    model: HybridRecommender
    profile: ResidentProfile
    data_fingerprint: str
    cutoff: pd.Timestamp
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def recommend(self, resident_ids: list[str], k: int = 10, **options: Any) -> pd.DataFrame:
        """Recommendations with explanations; see :meth:`HybridRecommender.recommend`."""
        return self.model.recommend(resident_ids, k, explain=options.pop("explain", True), **options)

    def save(self, path: str | Path) -> Path:
        """Write the bundle to one file."""
        return write_object(self, path, "bundle")

    @classmethod
    def load(cls, path: str | Path) -> ModelBundle:
        """Read a bundle written by :meth:`save`; anything else raises :class:`ModelFileError`."""
        return read_object(path, cls)
