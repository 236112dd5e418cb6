"""The :class:`FeaturePipeline`: one object computes features for training and for serving.

``fit(dataset, cutoff)`` computes point-in-time resident and service tables from the interactions
strictly before ``cutoff`` and stores them (learned state ends in ``_``); the transform methods then
look features up by external id. The same compute functions run at training and at serving, so the
two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self, TypeAlias

import numpy as np
import pandas as pd

from features.columns import LIST_SEPARATOR, Vocab
from features.columns import Columns as C
from features.cross_features import CrossContext, CrossTables
from features.dataset import Dataset, IdMap
from features.errors import DataValidationError, UnknownIdError
from features.feature_registry import REGISTRY, Entity, EventArrays, FeatureSet, FeatureSpec
from features.resident_features import ResidentContext
from features.schema import RESIDENTS
from features.service_features import ServiceContext
from features.validation import coerce_table

_NS_PER_DAY = 86_400_000_000_000
IdsLike: TypeAlias = Sequence[str] | pd.Series | pd.Index | np.ndarray


class FeaturesNotFittedError(ValueError, AttributeError):
    """The feature pipeline was used before ``fit`` (same bases as scikit-learn's NotFittedError)."""


class FeaturePipeline:
    """Point-in-time resident, service and resident × service features, chosen by a :class:`FeatureSet`.

    Parameters
    ----------
    feature_set : FeatureSet or path, optional
        Which features to compute: a :class:`FeatureSet`, or the path of a TOML feature set.
        Defaults to ``features/feature_sets/default.toml``.
    history_days : float, optional
        Use only events in the ``history_days`` days before the cut-off (default: all earlier events).

    Examples
    --------
    >>> pipeline = FeaturePipeline().fit(dataset, cutoff="2026-10-01")  # doctest: +SKIP
    >>> pipeline.resident_features(["r1", "r2"])  # doctest: +SKIP
    """

    def __init__(self, feature_set: FeatureSet | str | Path | None = None, *,
                 history_days: float | None = None) -> None:
        self.feature_set = feature_set
        self.history_days = history_days

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters as a flat dict (for experiment tracking)."""
        name = self.feature_set.name if isinstance(self.feature_set, FeatureSet) else self.feature_set
        return {"feature_set": str(name) if name is not None else "default", "history_days": self.history_days}

    # ---- fit ------------------------------------------------------------------------------------

    def fit(self, dataset: Dataset, cutoff: pd.Timestamp | str) -> Self:
        """Compute the resident and service tables from the interactions strictly before ``cutoff``.

        Parameters
        ----------
        dataset : Dataset
            Validated data; interactions at or after ``cutoff`` are ignored.
        cutoff : pandas.Timestamp or str
            The point in time the features describe (ages are computed for its year).

        Returns
        -------
        FeaturePipeline
            ``self``, fitted.
        """
        feature_set = self._feature_set()
        cutoff = pd.Timestamp(cutoff)
        history = dataset.until(cutoff).interactions
        if self.history_days is not None:
            start = cutoff - pd.Timedelta(days=self.history_days)
            history = history[(history[C.TIMESTAMP] >= start).to_numpy(dtype=bool)]
        residents = _in_id_order(dataset.residents, C.RESIDENT, dataset.resident_ids)
        services = _in_id_order(dataset.services, C.SERVICE, dataset.service_ids)
        scope_ids = services[C.COMMUNITY_SCOPE].dropna().astype(object).str.split(LIST_SEPARATOR).explode()
        community_index = pd.Index(pd.unique(np.concatenate([
            dataset.communities[C.COMMUNITY].to_numpy(dtype=object), scope_ids.str.strip().to_numpy(dtype=object)])))
        events = _event_arrays(history, dataset, services, feature_set)
        if self.history_days is not None:
            span_days = float(self.history_days)
        else:
            span_days = (cutoff.value - int(events.timestamp.min())) / _NS_PER_DAY if len(events) else 0.0

        self.feature_set_ = feature_set
        self.cutoff_ = cutoff
        self.span_days_ = span_days
        self.resident_ids_ = dataset.resident_ids
        self.service_ids_ = dataset.service_ids
        self.community_index_ = community_index
        self.community_district_ = pd.Series(
            dataset.communities[C.DISTRICT].to_numpy(dtype=object),
            index=dataset.communities[C.COMMUNITY].to_numpy(dtype=object))
        context = ResidentContext(residents, events, cutoff, self.community_district_, span_days)
        self.resident_table_ = _compute(self._resident_specs(), context,
                                        pd.Index(residents[C.RESIDENT].to_numpy(dtype=object), name=C.RESIDENT))
        service_context = ServiceContext(services, events, cutoff, len(residents), len(dataset.communities))
        self.service_table_ = _compute(REGISTRY.resolve("service", feature_set.service), service_context,
                                       pd.Index(services[C.SERVICE].to_numpy(dtype=object), name=C.SERVICE))
        self.resident_community_ = community_index.get_indexer(residents[C.COMMUNITY].to_numpy(dtype=object))
        self.cross_tables_ = CrossTables.fit(events, services, self.resident_community_, community_index)
        return self

    # ---- transforms -----------------------------------------------------------------------------

    def feature_names(self, entity: Entity) -> list[str]:
        """Output columns of one entity (selected names, families expanded)."""
        return self._fitted().feature_set_.columns(entity)

    def resident_features(self, resident_ids: IdsLike) -> pd.DataFrame:
        """Features of known residents, indexed by ``resident_id`` in the order given.

        Raises
        ------
        UnknownIdError
            If an id is not in the fitted dataset (use :meth:`transform_resident_profile` for those).
        """
        self._fitted()
        ids = np.asarray(resident_ids, dtype=object)
        rows = self.resident_ids_.to_internal(ids)
        table = self.resident_table_[self.feature_names("resident")].take(rows)
        return table.set_axis(pd.Index(ids, name=C.RESIDENT), axis=0)

    def service_features(self, service_ids: IdsLike | None = None) -> pd.DataFrame:
        """Features of services (all, in dataset order, when ``service_ids`` is None), indexed by ``service_id``."""
        self._fitted()
        if service_ids is None:
            return self.service_table_.copy()
        ids = np.asarray(service_ids, dtype=object)
        return self.service_table_.take(self.service_ids_.to_internal(ids)).set_axis(
            pd.Index(ids, name=C.SERVICE), axis=0)

    def transform_resident_profile(self, profile_rows: pd.DataFrame) -> pd.DataFrame:
        """Resident features for residents not in the dataset (cold start): raw residents-table rows.

        Static features come from the profile exactly as :meth:`fit` computes them; behaviour
        features take the values of a resident without events (counts and shares 0, recency NaN).

        Raises
        ------
        DataValidationError
            If a row breaks the residents contract (its community need not be known).
        """
        table, _ = self._profile_table(profile_rows)
        return table[self.feature_names("resident")]

    def cross_features(self, pairs: pd.DataFrame, profile_rows: pd.DataFrame | None = None) -> pd.DataFrame:
        """Resident × service features for every row of ``pairs`` (columns resident_id, service_id).

        Parameters
        ----------
        pairs : pandas.DataFrame
            One row per (resident, service) pair; millions of rows are fine.
        profile_rows : pandas.DataFrame, optional
            Raw residents rows for residents not in the fitted dataset (cold start, no history).

        Returns
        -------
        pandas.DataFrame
            The selected cross feature columns, with the index of ``pairs``.
        """
        self._fitted()
        service_rows = _positions(pairs[C.SERVICE], self.service_ids_, strict=True)
        resident_rows = _positions(pairs[C.RESIDENT], self.resident_ids_, strict=False)
        residents, community = self.resident_table_, self.resident_community_
        unknown = resident_rows < 0
        if unknown.any():
            missing = pd.unique(pairs[C.RESIDENT].to_numpy(dtype=object)[unknown])
            profiles, profile_community = (self._profile_table(profile_rows) if profile_rows is not None
                                           else (residents.iloc[:0], community[:0]))
            absent = [str(m) for m in missing if m not in profiles.index]
            if absent:
                raise UnknownIdError("resident", absent)
            profile_ids = IdMap("resident", profiles.index.astype(object))
            unknown_ids = pairs[C.RESIDENT].to_numpy(dtype=object)[unknown]
            resident_rows[unknown] = len(residents) + profile_ids.to_internal(unknown_ids)
            residents = pd.concat([residents, profiles[residents.columns]])
            community = np.concatenate([community, profile_community])
        context = CrossContext(self.cross_tables_, residents, community, resident_rows, service_rows, self.cutoff_)
        return _compute(REGISTRY.resolve("cross", self.feature_set_.cross), context, pairs.index)

    # ---- helpers --------------------------------------------------------------------------------

    def _feature_set(self) -> FeatureSet:
        if isinstance(self.feature_set, FeatureSet):
            return self.feature_set
        if self.feature_set is None:
            return FeatureSet.default()
        return FeatureSet.from_toml(self.feature_set)

    def _fitted(self) -> Self:
        if not hasattr(self, "cutoff_"):
            raise FeaturesNotFittedError(
                "this FeaturePipeline is not fitted yet; call fit(dataset, cutoff) before asking for features")
        return self

    def _resident_specs(self) -> list[tuple[FeatureSpec, tuple[str, ...]]]:
        """Selected resident features plus those the selected cross features read."""
        cross = REGISTRY.resolve("cross", self.feature_set_.cross)
        needed = [*self.feature_set_.resident, *(r for spec, _ in cross for r in spec.requires)]
        return REGISTRY.resolve("resident", list(dict.fromkeys(needed)))

    def _profile_table(self, profile_rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Resident features of raw profile rows (no events) and their community positions."""
        self._fitted()
        typed, log = coerce_table(profile_rows, RESIDENTS, "resident profile")
        if log.total:
            raise DataValidationError(log.kept, log.total)
        context = ResidentContext(typed, EventArrays.empty(), self.cutoff_, self.community_district_,
                                  self.span_days_)
        table = _compute(self._resident_specs(), context,
                         pd.Index(typed[C.RESIDENT].to_numpy(dtype=object), name=C.RESIDENT))
        return table, self.community_index_.get_indexer(typed[C.COMMUNITY].to_numpy(dtype=object))


def _compute(resolved: list[tuple[FeatureSpec, tuple[str, ...]]], context: Any, index: pd.Index) -> pd.DataFrame:
    """Run each distinct compute function once and keep the requested columns, in order."""
    computed: dict[str, np.ndarray] = {}
    columns: dict[str, np.ndarray] = {}
    for spec, wanted in resolved:
        if spec.name not in computed:
            values = np.asarray(spec.compute(context), dtype=np.float64)
            values = values[:, None] if values.ndim == 1 else values
            if values.shape != (len(index), len(spec.columns)):
                raise ValueError(f"feature {spec.name!r} returned shape {values.shape}, "
                                 f"expected {(len(index), len(spec.columns))}")
            computed[spec.name] = values
        for column in wanted:
            columns[column] = computed[spec.name][:, spec.columns.index(column)]
    return pd.DataFrame(columns, index=index)


def _vocab_codes(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    if isinstance(values.dtype, pd.CategoricalDtype) and list(values.cat.categories) == list(vocabulary):
        return values.cat.codes.to_numpy()
    return pd.Categorical(values.astype(object), categories=list(vocabulary)).codes


def _positions(ids: pd.Series, id_map: IdMap, *, strict: bool) -> np.ndarray:
    """Internal positions of many ids, hashing each distinct id once."""
    codes, uniques = pd.factorize(ids)
    positions = id_map.to_internal(np.asarray(uniques, dtype=object), strict=strict)
    return positions[codes].astype(np.int64)


def _in_id_order(frame: pd.DataFrame, column: str, id_map: IdMap) -> pd.DataFrame:
    """Rows reordered so that row ``i`` has internal id ``i``."""
    order = np.argsort(id_map.to_internal(frame[column]))
    return frame.take(order).reset_index(drop=True)


def _event_arrays(history: pd.DataFrame, dataset: Dataset, services: pd.DataFrame,
                  feature_set: FeatureSet) -> EventArrays:
    service = _positions(history[C.SERVICE], dataset.service_ids, strict=True)
    event = _vocab_codes(history[C.EVENT], Vocab.EVENTS).astype(np.int8)
    service_category = pd.Categorical(services[C.CATEGORY].astype(object),
                                      categories=list(Vocab.SERVICE_CATEGORIES)).codes.astype(np.int64)
    return EventArrays(
        resident=_positions(history[C.RESIDENT], dataset.resident_ids, strict=True),
        service=service,
        timestamp=history[C.TIMESTAMP].to_numpy(dtype="datetime64[ns]").view(np.int64),
        event=event,
        category=service_category[service],
        offline=_vocab_codes(history[C.CHANNEL], Vocab.EVENT_CHANNEL) == Vocab.EVENT_CHANNEL.index("offline"),
        rating=history[C.RATING].to_numpy(dtype=np.float64, na_value=np.nan),
        strength=feature_set.strength_by_event()[event],
    )
