"""The resident profile's tables as Parquet files, so most of a bundle's personal data is not a pickle.

:func:`split_frames` walks a frozen dataclass (and the dataclasses inside it), writes each pandas frame or series
field to ``<folder>/<path>.parquet`` and returns a copy holding empty placeholders instead; :func:`join_frames`
puts them back. A table whose Parquet round trip is not exact (dtypes, index, values) stays in the object, so
splitting never changes what a bundle answers.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import pandas as pd

from recommenders.errors import ModelFileError
from recommenders.signing import write_private

_SERIES_COLUMN = "__series__"


def _to_frame(value: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(value, pd.Series):
        return value.rename(_SERIES_COLUMN).to_frame()
    return value


def _from_frame(frame: pd.DataFrame, template: object) -> pd.DataFrame | pd.Series:
    if isinstance(template, pd.Series):
        return frame[_SERIES_COLUMN].rename(template.name)
    return frame


def _parquet(value: pd.DataFrame | pd.Series) -> bytes | None:
    """The Parquet bytes of ``value``, or ``None`` when reading them back would not give ``value`` exactly."""
    frame = _to_frame(value)
    if not all(isinstance(c, str) for c in frame.columns):
        return None
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer)
        back = _from_frame(pd.read_parquet(io.BytesIO(buffer.getvalue())), value)
    except (ValueError, TypeError, ImportError, ArithmeticError, AttributeError):
        return None
    same = back.equals(value) and back.index.equals(value.index) and back.index.dtype == value.index.dtype
    same = same and (back.dtypes.equals(value.dtypes) if isinstance(value, pd.DataFrame) else back.dtype == value.dtype)
    if isinstance(value, pd.Series):
        same = same and back.name == value.name
    return buffer.getvalue() if same else None


def split_frames(obj: Any, folder: Path, prefix: str) -> tuple[Any, dict[str, str]]:
    """A copy of the dataclass ``obj`` whose frames are written to ``folder`` as Parquet.

    Returns
    -------
    tuple
        The copy (frames replaced by empty ones of the same kind) and ``{field path: file name}``.
    """
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj, {}
    changes: dict[str, Any] = {}
    written: dict[str, str] = {}
    for item in dataclasses.fields(obj):
        value = getattr(obj, item.name)
        path = f"{prefix}.{item.name}"
        if isinstance(value, pd.DataFrame | pd.Series):
            data = _parquet(value)
            if data is None:
                continue
            name = f"{path}.parquet"
            write_private(folder / name, data)
            written[path] = name
            changes[item.name] = value.iloc[0:0]
        elif dataclasses.is_dataclass(value):
            inner, inner_written = split_frames(value, folder, path)
            if inner_written:
                changes[item.name] = inner
                written.update(inner_written)
    return (dataclasses.replace(obj, **changes) if changes else obj), written


def join_frames(obj: Any, folder: Path, written: dict[str, str], prefix: str) -> Any:
    """Put back the frames :func:`split_frames` wrote (``written``), reading Parquet only."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(obj):
        value = getattr(obj, item.name)
        path = f"{prefix}.{item.name}"
        if path in written:
            try:
                changes[item.name] = _from_frame(pd.read_parquet(folder / written[path]), value)
            except (OSError, ValueError, KeyError) as exc:
                raise ModelFileError(f"{folder / written[path]}: cannot read a bundle table: {exc}") from exc
        elif dataclasses.is_dataclass(value) and any(p.startswith(f"{path}.") for p in written):
            changes[item.name] = join_frames(value, folder, written, path)
    return dataclasses.replace(obj, **changes) if changes else obj


__all__ = ["join_frames", "split_frames"]
