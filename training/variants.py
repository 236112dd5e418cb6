"""Experiment variants as small TOML files: only what differs from the shipped training config.

An experiment's config file lists the settings it changes (as LensKit's pipeline files do); :func:`load_variant`
lays them over the shipped config, and :func:`variant_toml` writes a config back as such a difference (what
``linli experiment tune --out`` saves).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from features.toml_files import read_toml
from training.config import DEFAULT_CONFIG, TrainConfig, TrainConfigError

#: Tables that are one setting: the set of generators. A file that lists it lists the whole set (as
#: ``TrainConfig.from_toml`` reads it), so it replaces the base's set and is written whole when it differs.
WHOLE_TABLES = (("hybrid", "generators"),)


def load_variant(path: str | Path, base: str | Path = DEFAULT_CONFIG) -> TrainConfig:
    """A variant file: the settings it lists laid over the shipped training config ``base``.

    Raises
    ------
    TrainConfigError
        Either file cannot be read, or the merged settings break the schema (naming the key).
    """
    merged = _merge(_read_toml(base), _read_toml(path))
    try:
        return TrainConfig.model_validate(merged)
    except ValidationError as exc:
        raise TrainConfigError(f"experiment config {path} is invalid:\n{exc}") from exc


def variant_toml(config: TrainConfig, base: str | Path = DEFAULT_CONFIG) -> str:
    """TOML listing only the settings of ``config`` that differ from the shipped config ``base``."""
    shipped = TrainConfig.model_validate(_read_toml(base)).model_dump(mode="json")
    return tomli_w.dumps(_difference(config.model_dump(mode="json"), shipped))


def _read_toml(path: str | Path) -> dict[str, Any]:
    return read_toml(path, TrainConfigError, "training config")


def _tables(value: Any, other: Any, path: tuple[str, ...]) -> bool:
    return isinstance(value, Mapping) and isinstance(other, Mapping) and path not in WHOLE_TABLES


def _merge(base: Mapping[str, Any], update: Mapping[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        where = (*path, key)
        out[key] = _merge(out[key], value, where) if _tables(value, out.get(key), where) else value
    return out


def _difference(values: Mapping[str, Any], reference: Mapping[str, Any],
                path: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if _tables(value, reference.get(key), (*path, key)):
            nested = _difference(value, reference[key], (*path, key))
            if nested:
                out[key] = nested
        elif key not in reference or reference[key] != value:
            out[key] = value
    return {k: v for k, v in out.items() if v is not None}
