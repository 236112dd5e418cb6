"""Features declared by name: the registry, the :class:`FeatureSet` chosen from it, and their inputs.

Every feature is registered once with its entity (``resident``, ``service`` or ``cross``), a compute
function and a description. A :class:`FeatureSet` is configuration: it lists feature names per entity
(usually in a TOML file such as ``features/feature_sets/default.toml``) plus the event strength weights,
so an experiment adds or drops features by editing TOML only.

A name may stand for a *family* of columns: ``share_<category>`` expands to ``share_elderly_care``,
``share_health``, ... (one per :attr:`Vocab.SERVICE_CATEGORIES`). A feature set may list the family
name (all members, in vocabulary order) or single members such as ``share_health``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from features.columns import Vocab
from features.event_weights import policy_weights
from features.toml_files import read_toml

Entity = Literal["resident", "service", "cross"]
ENTITIES: tuple[Entity, ...] = ("resident", "service", "cross")

#: Strength of each event as a signal of interest, used when no feature set says otherwise: the
#: ``features`` policy of :data:`features.event_weights.EVENT_WEIGHTS` (impressions count as exposure).
DEFAULT_EVENT_STRENGTH: dict[str, float] = policy_weights("features")
DEFAULT_FEATURE_SET = Path(__file__).parent / "feature_sets" / "default.toml"
_BUILTIN_MODULES = ("features.resident_features", "features.service_features", "features.cross_features",
                    "features.repeat_features", "features.side_families",
                    "features.rating_families")
_PLACEHOLDER = re.compile(r"<[^>]+>")

ComputeFn = Callable[[Any], np.ndarray]
F = TypeVar("F", bound=ComputeFn)


class UnknownFeatureError(ValueError):
    """A feature set names a feature the registry does not know."""

    def __init__(self, entity: str, unknown: Sequence[str], valid: Sequence[str]) -> None:
        self.entity = entity
        self.unknown = list(unknown)
        super().__init__(
            f"unknown {entity} feature(s) {', '.join(map(repr, unknown))}; "
            f"fix the feature set. Valid {entity} features: {', '.join(valid)}"
        )


class FeatureSetError(ValueError):
    """A feature set file or mapping is malformed (not an unknown name: see UnknownFeatureError)."""


@dataclass(frozen=True)
class EventArrays:
    """Interactions as aligned numpy arrays: the input compute functions read instead of string frames.

    ``resident`` and ``service`` are row positions in the entity tables being featurised;
    ``timestamp`` is nanoseconds since the epoch (naive local time); ``event`` indexes
    :attr:`Vocab.EVENTS`; ``category`` indexes :attr:`Vocab.SERVICE_CATEGORIES` (-1 when the
    service's category is outside it); ``strength`` is the event's weight from the feature set.
    """

    resident: np.ndarray
    service: np.ndarray
    timestamp: np.ndarray
    event: np.ndarray
    category: np.ndarray
    offline: np.ndarray
    rating: np.ndarray
    strength: np.ndarray

    @classmethod
    def empty(cls) -> EventArrays:
        """No events at all (a cold-start resident)."""
        ints, floats = np.empty(0, np.int64), np.empty(0, np.float64)
        return cls(ints, ints, ints, np.empty(0, np.int8), ints, np.empty(0, bool), floats, floats)

    def __len__(self) -> int:
        return len(self.timestamp)


def sorted_distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of an integer array and how often each occurs.

    Sort-based, which beats hashing (``np.unique``) on tens of millions of keys.
    """
    ordered = np.sort(keys)
    if len(ordered) == 0:
        return ordered, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, len(ordered)])


@dataclass(frozen=True)
class FeatureSpec:
    """One registered feature: ``compute(context)`` returns shape ``(n,)`` or ``(n, len(columns))``."""

    name: str
    entity: Entity
    compute: ComputeFn
    description: str
    columns: tuple[str, ...]
    static: bool = False
    requires: tuple[str, ...] = ()


class FeatureRegistry:
    """Feature name → :class:`FeatureSpec`. The built-in features register on first lookup."""

    def __init__(self) -> None:
        self._specs: dict[str, FeatureSpec] = {}
        self._loaded = False

    def register(
        self, name: str, entity: Entity, description: str, *, members: Sequence[str] = (),
        static: bool = False, requires: Sequence[str] = (),
    ) -> Callable[[F], F]:
        """Decorator registering a compute function under ``name``.

        Parameters
        ----------
        name : str
            Unique feature name; a family name holds one ``<placeholder>`` replaced by each member.
        entity : {"resident", "service", "cross"}
            What a row of the output describes.
        description : str
            What the value means, including its unit and the value when unknown.
        members : sequence of str, optional
            Family members; the output columns are ``name`` with the placeholder replaced by each.
        static : bool, default False
            Resident features computed from the profile alone (no events), available at cold start.
        requires : sequence of str, optional
            Resident features a cross feature reads; the pipeline computes them even if not selected.
        """
        if entity not in ENTITIES:
            raise ValueError(f"entity must be one of {ENTITIES}, got {entity!r}")
        if bool(members) != bool(_PLACEHOLDER.search(name)):
            raise ValueError(f"feature {name!r}: a family name needs a <placeholder> and members, and only then")
        columns = tuple(_PLACEHOLDER.sub(m, name) for m in members) if members else (name,)

        def decorate(compute: F) -> F:
            if name in self._specs:
                raise ValueError(f"feature {name!r} is registered twice; pick another name")
            self._specs[name] = FeatureSpec(name, entity, compute, description, columns, static,
                                            tuple(requires))
            return compute

        return decorate

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in _BUILTIN_MODULES:
                importlib.import_module(module)

    def __getitem__(self, name: str) -> FeatureSpec:
        self._ensure_loaded()
        if name not in self._specs:
            raise UnknownFeatureError("any", [name], sorted(self._specs))
        return self._specs[name]

    def names(self, entity: Entity) -> list[str]:
        """Registered feature names of one entity, in registration order."""
        self._ensure_loaded()
        return [s.name for s in self._specs.values() if s.entity == entity]

    def resolve(self, entity: Entity, names: Sequence[str]) -> list[tuple[FeatureSpec, tuple[str, ...]]]:
        """Map selected names (features or single family members) to (spec, output columns).

        Raises
        ------
        UnknownFeatureError
            Listing every unknown name and all valid names of the entity.
        """
        self._ensure_loaded()
        by_column = {c: s for s in self._specs.values() if s.entity == entity for c in s.columns}
        resolved, unknown = [], []
        for name in names:
            spec = self._specs.get(name)
            if spec is not None and spec.entity == entity:
                resolved.append((spec, spec.columns))
            elif name in by_column:
                resolved.append((by_column[name], (name,)))
            else:
                unknown.append(name)
        if unknown:
            raise UnknownFeatureError(entity, unknown, self.names(entity))
        return resolved

    def describe(self, entity: Entity | None = None) -> pd.DataFrame:
        """One row per feature: name, entity, output columns, static flag, description."""
        self._ensure_loaded()
        rows = [{"name": s.name, "entity": s.entity, "columns": ", ".join(s.columns), "static": s.static,
                 "description": s.description}
                for s in self._specs.values() if entity is None or s.entity == entity]
        return pd.DataFrame(rows)


#: The process-wide registry; ``@register(...)`` adds to it.
REGISTRY = FeatureRegistry()
register = REGISTRY.register


@dataclass(frozen=True)
class FeatureSet:
    """Selected feature names per entity and the event strength weights. Validated on creation.

    Build it with :meth:`default`, :meth:`from_toml` or :meth:`from_dict`. Output columns are the
    selected names in order, with families expanded (see :meth:`columns`).
    """

    resident: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    cross: tuple[str, ...] = ()
    event_strength: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_STRENGTH))
    name: str = "custom"

    def __post_init__(self) -> None:
        for entity in ENTITIES:
            names = getattr(self, entity)
            object.__setattr__(self, entity, tuple(names))
            dup = sorted({n for n in names if list(names).count(n) > 1})
            if dup:
                raise FeatureSetError(f"{entity} features listed more than once: {dup}; list each once")
            REGISTRY.resolve(entity, names)
        unknown = sorted(set(self.event_strength) - set(Vocab.EVENTS))
        if unknown:
            raise FeatureSetError(f"event_strength has unknown event(s) {unknown}; valid: {list(Vocab.EVENTS)}")
        object.__setattr__(self, "event_strength", {**DEFAULT_EVENT_STRENGTH, **self.event_strength})

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], name: str = "custom") -> FeatureSet:
        """Build from ``{"resident": {"features": [...]}, ..., "event_strength": {...}}`` (TOML layout)."""
        allowed = {*ENTITIES, "event_strength"}
        extra = sorted(set(config) - allowed)
        if extra:
            raise FeatureSetError(f"unknown section(s) {extra} in feature set {name!r}; allowed: {sorted(allowed)}")
        selected: dict[str, tuple[str, ...]] = {}
        for entity in ENTITIES:
            section = config.get(entity, {})
            if not isinstance(section, Mapping) or set(section) - {"features"}:
                raise FeatureSetError(f"[{entity}] must hold only `features = [...]` in feature set {name!r}")
            selected[entity] = tuple(section.get("features", ()))
        strength = {k: float(v) for k, v in config.get("event_strength", {}).items()}
        return cls(**selected, event_strength=strength, name=name)

    @classmethod
    def from_toml(cls, path: str | Path) -> FeatureSet:
        """Read a feature set file (see ``features/feature_sets/default.toml`` for the layout)."""
        path = Path(path)
        return cls.from_dict(read_toml(path, FeatureSetError, "feature set"), name=path.stem)

    @classmethod
    def default(cls) -> FeatureSet:
        """The default feature set shipped in ``features/feature_sets/default.toml``."""
        return cls.from_toml(DEFAULT_FEATURE_SET)

    def names(self, entity: Entity) -> tuple[str, ...]:
        """Selected feature names of one entity."""
        return getattr(self, entity)

    def columns(self, entity: Entity) -> list[str]:
        """Output columns of one entity: selected names in order, families expanded."""
        return [c for _, cols in REGISTRY.resolve(entity, self.names(entity)) for c in cols]

    def strength_by_event(self) -> np.ndarray:
        """Event strength weights aligned to :attr:`Vocab.EVENTS`."""
        return np.array([self.event_strength[e] for e in Vocab.EVENTS], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout as a dict (for logging with an experiment run)."""
        out: dict[str, Any] = {e: {"features": list(self.names(e))} for e in ENTITIES}
        out["event_strength"] = dict(self.event_strength)
        return out
