"""The model bundle: everything serving needs, in one signed folder.

Id maps, feature statistics (the fitted feature pipeline), the persona model and segments, the
generators' factors, the ranker, the rules, the config and the data fingerprint all travel together,
so a bundle loaded anywhere answers exactly as it did when it was trained.

On disk a bundle is a folder readable by its owner only (mode 700, files 600):

``meta.json``
    Format, data fingerprint, cutoff, training config and offline metrics (plain JSON).
``profile.*.parquet``
    The resident profile's tables: resident features, persona tags and reasons, segments, community types and
    segment reports (:mod:`training.bundle_frames`).
``bundle.pkl``
    The fitted model and the rest of the profile: scikit-learn, LightGBM and pandas objects with no common
    pickle-free format, so a signed pickle read through an allowlist (:mod:`recommenders.persistence`).
``manifest.json``
    The SHA-256 of every other file and an HMAC over them with the artifact key
    (:func:`recommenders.signing.write_manifest`). :meth:`ModelBundle.load` checks it before it reads anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from profiling.profile import ResidentProfile
from recommenders.candidates import resident_table
from recommenders.errors import ModelFileError
from recommenders.hybrid import HybridRecommender
from recommenders.persistence import read_object, write_object
from recommenders.rules import RULE_RESIDENT_FEATURES, ServiceRules
from recommenders.signing import private_dir, verify_manifest, write_manifest, write_private
from training.bundle_frames import join_frames, split_frames

FORMAT = 2
_META, _OBJECTS = "meta.json", "bundle.pkl"


@dataclass(frozen=True)
class _Fitted:
    """The pickled part of a bundle."""

    model: HybridRecommender
    profile: ResidentProfile


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
        The training configuration, to rebuild the model (JSON values).
    metrics : dict
        Offline metrics measured before the final refit (JSON values).
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

    # ----- the serving interface: what serving reads of the fitted model, by name -------------------------
    def resident_ids(self) -> pd.Index:
        """External ids of the residents the model knows, in internal id order."""
        return pd.Index(self.model.resident_ids_.external.astype(object))

    def service_ids(self) -> pd.Index:
        """External ids of the catalogue's services, in internal id order (stored lists hold these positions)."""
        return pd.Index(self.model.service_ids_.external.astype(object))

    def catalogue(self) -> pd.DataFrame:
        """The services table the model was fitted on, in internal id order."""
        return self.model.services_

    def knows(self, resident_ids: list[str] | np.ndarray) -> np.ndarray:
        """Whether the model knows each resident (bool per id)."""
        ids = np.asarray(resident_ids, dtype=object)
        return np.asarray(self.model.resident_ids_.to_internal(ids, strict=False) >= 0, dtype=bool)

    def rules(self) -> ServiceRules:
        """The fitted service rules (eligibility, one-off, accessibility, offline quota, diversity)."""
        return self.model.rules_

    def cross_features(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Resident × service features of known ``resident_id, service_id`` pairs (the rules' inputs)."""
        return self.model.pipeline_.cross_features(pairs)

    def rule_residents(self, resident_ids: list[str] | np.ndarray, profile_rows: pd.DataFrame | None = None
                       ) -> pd.DataFrame:
        """The rules' resident inputs (:data:`recommenders.rules.RULE_RESIDENT_FEATURES`), one row per id in order;
        residents the model does not know are read from their ``profile_rows`` (cold start)."""
        ids = np.asarray(resident_ids, dtype=object)
        table = resident_table(self.model.pipeline_, ids, self.knows(ids), profile_rows)
        return table[list(RULE_RESIDENT_FEATURES)]

    def prefers_offline(self, resident_ids: list[str] | np.ndarray, profile_rows: pd.DataFrame | None = None
                        ) -> np.ndarray:
        """Whether the offline quota applies to each resident (bool per id; see :meth:`rule_residents`)."""
        values = self.rule_residents(resident_ids, profile_rows)["prefers_offline"]
        return values.to_numpy(dtype=np.float64, na_value=np.nan) == 1

    def home_community(self, resident_id: str) -> str | None:
        """The community a known resident lives in, in the training data (``None`` when unknown)."""
        internal = int(self.model.resident_ids_.to_internal([resident_id], strict=False)[0])
        pipeline = self.model.pipeline_
        home = int(pipeline.resident_community_[internal]) if internal >= 0 else -1
        return str(pipeline.community_index_[home]) if home >= 0 else None

    def save(self, path: str | Path) -> Path:
        """Write the bundle to the folder ``path`` (made private) and sign it; returns the folder.

        Returns
        -------
        pathlib.Path
            The folder, holding ``meta.json``, ``bundle.pkl`` and ``manifest.json``.
        """
        folder = private_dir(Path(path))
        profile, tables = split_frames(self.profile, folder, "profile")
        meta = {"format": FORMAT, "data_fingerprint": self.data_fingerprint, "cutoff": self.cutoff.isoformat(),
                "config": self.config, "metrics": self.metrics, "tables": tables}
        write_private(folder / _META, json.dumps(meta, indent=1, default=_json_value).encode())
        write_object(_Fitted(self.model, profile), folder / _OBJECTS, "bundle")
        write_manifest(folder)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> ModelBundle:
        """Read a bundle written by :meth:`save`, after checking its signed manifest.

        Raises
        ------
        ModelFileError
            The folder is missing, unsigned, tampered, signed with another key, or not a bundle.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise ModelFileError(f"{folder}: not a Linli model bundle folder (bundles from before signing "
                                 "must be retrained)")
        verify_manifest(folder)
        try:
            meta = json.loads((folder / _META).read_bytes())
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT}")
            cutoff = pd.Timestamp(meta["cutoff"])
            tables = dict(meta.get("tables") or {})
            if not all(isinstance(n, str) and Path(n).name == n and n.endswith(".parquet") for n in tables.values()):
                raise ValueError("a table file name is not a plain .parquet name")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelFileError(f"{folder / _META}: not a Linli bundle description: {exc}") from exc
        fitted = read_object(folder / _OBJECTS, _Fitted)
        if not isinstance(fitted.model, HybridRecommender) or not isinstance(fitted.profile, ResidentProfile):
            raise ModelFileError(f"{folder / _OBJECTS}: does not hold a hybrid model and a resident profile")
        profile = join_frames(fitted.profile, folder, tables, "profile")
        return cls(model=fitted.model, profile=profile, data_fingerprint=str(meta["data_fingerprint"]),
                   cutoff=cutoff, config=dict(meta.get("config") or {}), metrics=dict(meta.get("metrics") or {}))


def _json_value(value: Any) -> Any:
    """JSON for the numpy and pandas values a config or metrics dict may hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset | np.ndarray):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"a bundle's config and metrics must be JSON values; got {type(value).__name__}")
