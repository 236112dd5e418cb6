"""Check a raw frame against its :class:`~features.schema.TableSpec` and coerce it to typed columns.

Validation never stops at the first problem: every bad cell of a file is collected, so the user can
fix a whole file in one pass. Checks are vectorised, so a 20-million-row interactions table costs
seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.errors import Violation
from features.local_time import TIMEZONE
from features.schema import RATED_EVENT, ColumnSpec, TableSpec, rating_problem

#: Detailed violations kept per table; the rest are counted.
MAX_KEPT = 10_000
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


class ViolationLog:
    """Collects violations for one source, keeping at most :data:`MAX_KEPT` in detail."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.kept: list[Violation] = []
        self.total = 0

    def add(self, rows: Iterable[int], column: str, messages: Iterable[str]) -> None:
        """Record one violation per (row position, message) pair; positions are 0-based."""
        for pos, msg in zip(rows, messages, strict=True):
            self.total += 1
            if len(self.kept) < MAX_KEPT:
                self.kept.append(Violation(self.source, int(pos) + 1, column, msg))

    def add_missing_column(self, column: str) -> None:
        """Record that a required column is absent from the source."""
        self.total += 1
        self.kept.append(Violation(self.source, None, column, "required column is missing"))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _flag(log: ViolationLog, bad: np.ndarray, raw: pd.Series, spec: ColumnSpec, why: str) -> None:
    positions = np.flatnonzero(bad)
    log.add(positions, spec.name, (f"{why}: got {_shown(raw.iloc[p])}" for p in positions))


def _is_blank(raw: pd.Series) -> np.ndarray:
    blank = raw.isna().to_numpy(dtype=bool).copy()
    if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
        blank |= raw.astype("string").str.strip().fillna("").eq("").to_numpy(dtype=bool)
    return blank


def _coerce_numeric(raw: pd.Series, spec: ColumnSpec, blank: np.ndarray, log: ViolationLog) -> pd.Series:
    values = pd.to_numeric(raw.where(~blank), errors="coerce")
    unparsable = values.isna().to_numpy() & ~blank
    kind = "an integer" if spec.kind == "int" else "a number"
    _flag(log, unparsable, raw, spec, f"not {kind}")
    floats = values.to_numpy(dtype="float64", na_value=np.nan)
    ok = ~np.isnan(floats)
    if spec.kind == "int":
        fractional = ok & (np.floor(floats) != floats)
        _flag(log, fractional, raw, spec, "not an integer")
        ok &= ~fractional
    for bound, outside in ((spec.low, floats < (spec.low or 0)), (spec.high, floats > (spec.high or 0))):
        if bound is not None:
            bad = ok & outside
            _flag(log, bad, raw, spec, f"out of range [{spec.low}, {spec.high}]")
            ok &= ~bad
    floats = np.where(ok, floats, np.nan)
    if spec.kind == "int":
        ints = pd.arrays.IntegerArray(np.where(ok, floats, 0).astype("int64"), ~ok)
        return pd.Series(ints, index=raw.index)
    return pd.Series(floats, index=raw.index, dtype="float64")


def _coerce_bool(raw: pd.Series, spec: ColumnSpec, blank: np.ndarray, log: ViolationLog) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("boolean")
    text = raw.astype("string").str.strip().str.lower()
    is_true = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    _flag(log, ~(is_true | is_false | blank), raw, spec, "not a boolean (use true/false)")
    out = pd.array(is_true, dtype="boolean")
    out[~(is_true | is_false)] = pd.NA
    return pd.Series(out, index=raw.index)


def _coerce_datetime(raw: pd.Series, spec: ColumnSpec, blank: np.ndarray, log: ViolationLog) -> pd.Series:
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert(TIMEZONE).dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        return raw.astype("datetime64[ns]")
    text = raw.astype("string").str.strip().where(~blank)
    has_offset = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False).to_numpy(dtype=bool)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if (~has_offset).any():  # no offset given: already local time
        local = pd.to_datetime(text[~has_offset], errors="coerce", format="mixed")
        parsed[~has_offset] = local.astype("datetime64[ns]")
    if has_offset.any():
        aware = pd.to_datetime(text[has_offset], errors="coerce", format="mixed", utc=True)
        parsed[has_offset] = aware.dt.tz_convert(TIMEZONE).dt.tz_localize(None).astype("datetime64[ns]")
    _flag(log, parsed.isna().to_numpy() & ~blank, raw, spec, "not a timestamp (use ISO 8601)")
    return parsed


def _coerce_text(raw: pd.Series, spec: ColumnSpec, blank: np.ndarray, log: ViolationLog) -> pd.Series:
    if pd.api.types.is_float_dtype(raw.dtype):  # ids read as numbers, e.g. 101.0 -> "101"
        whole = raw.dropna()
        if (np.floor(whole) == whole).all():
            raw = raw.astype("Int64")
    text = raw.astype("string").str.strip().where(~blank)
    limit = spec.length_limit
    if limit is not None:
        lengths = text.str.len().fillna(0).to_numpy(dtype="int64")
        too_long = lengths > limit
        positions = np.flatnonzero(too_long)
        log.add(positions, spec.name, (f"longer than {limit} characters ({lengths[p]:,} characters: "
                                       f"{_shown(text.iloc[p])})" for p in positions))
        text = text.where(~too_long)
    if spec.kind == "category":
        bad = ~text.isin(spec.choices).fillna(True).to_numpy(dtype=bool) & ~blank
        _flag(log, bad, raw, spec, f"not one of {list(spec.choices)}")
        text = text.where(~bad)
        return text.astype(pd.CategoricalDtype(list(spec.choices)))
    return text


def coerce_table(frame: pd.DataFrame, spec: TableSpec, source: str) -> tuple[pd.DataFrame, ViolationLog]:
    """Validate ``frame`` against ``spec`` and return typed columns plus every violation found.

    Parameters
    ----------
    frame : pandas.DataFrame
        The raw table as read from its source (any dtypes).
    spec : TableSpec
        The contract.
    source : str
        Name used in messages (file path, SQL table).

    Returns
    -------
    frame : pandas.DataFrame
        Columns in contract order with their logical dtypes; bad cells are set to missing.
        Unknown extra columns are kept after the contract columns.
    log : ViolationLog
        Every violation (missing columns, bad cells, empty required cells, duplicate keys).
    """
    log = ViolationLog(source)
    frame = frame.reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name not in frame.columns:
            if col.required:
                log.add_missing_column(col.name)
            out[col.name] = _empty(col, len(frame))
            continue
        raw = frame[col.name]
        blank = _is_blank(raw)
        if col.kind in ("int", "float"):
            typed = _coerce_numeric(raw, col, blank, log)
        elif col.kind == "bool":
            typed = _coerce_bool(raw, col, blank, log)
        elif col.kind == "datetime":
            typed = _coerce_datetime(raw, col, blank, log)
        else:
            typed = _coerce_text(raw, col, blank, log)
        if not col.nullable:
            positions = np.flatnonzero(blank)
            log.add(positions, col.name, ["empty value in a required field"] * len(positions))
        out[col.name] = typed
    extras = {c: frame[c] for c in frame.columns if c not in out}
    typed_frame = pd.DataFrame({**out, **extras}, index=frame.index)
    if C.EVENT in spec.column_names and C.RATING in spec.column_names:
        given = ~_is_blank(frame[C.RATING]) if C.RATING in frame.columns else np.zeros(len(frame), dtype=bool)
        _check_ratings(typed_frame, given, log)
    if spec.key and all(k in frame.columns for k in spec.key):
        dup = typed_frame.duplicated(list(spec.key), keep="first").to_numpy()
        positions = np.flatnonzero(dup)
        key = spec.key[0] if len(spec.key) == 1 else ",".join(spec.key)
        log.add(positions, key, (f"duplicate key {_shown(typed_frame.loc[p, key])}" for p in positions))
    return typed_frame, log


def _check_ratings(frame: pd.DataFrame, given: np.ndarray, log: ViolationLog) -> None:
    """The API's rule, row by row (:func:`features.schema.rating_problem`): ``rate`` events, and only they,
    carry a rating (``given``: the source cell is not blank, so a bad rating is reported once, as bad).
    Rows whose event is itself invalid are already reported."""
    event = frame[C.EVENT].astype("string")
    rated = event.eq(RATED_EVENT).fillna(False).to_numpy(dtype=bool)
    has_rating = given
    known = event.notna().to_numpy(dtype=bool)
    reported = has_rating & frame[C.RATING].isna().to_numpy(dtype=bool)  # a bad rating, already reported
    positions = np.flatnonzero(known & (rated != has_rating) & ~reported)
    log.add(positions, C.RATING, (str(rating_problem(str(event.iloc[p]), 1.0 if has_rating[p] else None))
                                  for p in positions))


def _empty(col: ColumnSpec, length: int) -> pd.Series:
    dtype: object = {
        "int": "Int64", "float": "float64", "bool": "boolean", "datetime": "datetime64[ns]",
    }.get(col.kind, "string")
    if col.kind == "category":
        dtype = pd.CategoricalDtype(list(col.choices))
    return pd.Series(pd.array([None] * length, dtype=dtype) if col.kind != "datetime"
                     else pd.NaT, index=range(length), dtype=dtype)
