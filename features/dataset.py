"""The validated :class:`Dataset`: four typed tables plus id maps. External ids in, external ids out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.errors import DataValidationError, UnknownIdError, Violation
from features.schema import TABLES
from features.validation import MAX_KEPT, ViolationLog, coerce_table


@dataclass(frozen=True)
class IdMap:
    """Bijection between external string ids and dense internal integers ``0..n-1``.

    Internal ids never leave Linli's public API; they index factor matrices and arrays.
    """

    kind: str
    external: pd.Index

    @classmethod
    def from_values(cls, kind: str, values: pd.Series | np.ndarray | list[str]) -> IdMap:
        """Build a map in first-seen order of ``values`` (duplicates ignored)."""
        return cls(kind, pd.Index(pd.unique(np.asarray(values, dtype=object)), dtype=object))

    def __len__(self) -> int:
        return len(self.external)

    def __contains__(self, external_id: object) -> bool:
        return external_id in self.external

    def to_internal(self, external_ids: pd.Series | np.ndarray | list[str], *, strict: bool = True) -> np.ndarray:
        """Map external ids to internal integers; unknown ids raise, or give -1 with ``strict=False``."""
        codes = self.external.get_indexer(np.asarray(external_ids, dtype=object))
        if strict and (codes < 0).any():
            unknown = pd.unique(np.asarray(external_ids, dtype=object)[codes < 0])
            raise UnknownIdError(self.kind, [str(u) for u in unknown])
        return codes

    def to_external(self, internal_ids: np.ndarray | list[int]) -> np.ndarray:
        """Map internal integers back to external ids."""
        return self.external.to_numpy()[np.asarray(internal_ids, dtype=np.int64)]


@dataclass(frozen=True)
class Dataset:
    """All of one community platform's data, validated against the contracts in :mod:`features.schema`.

    Build it with :meth:`from_frames` (or a loader in :mod:`features.sources`), never directly.
    Interactions are sorted by timestamp.
    """

    residents: pd.DataFrame
    communities: pd.DataFrame
    services: pd.DataFrame
    interactions: pd.DataFrame
    resident_ids: IdMap
    service_ids: IdMap
    dropped: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_frames(
        cls,
        residents: pd.DataFrame,
        communities: pd.DataFrame,
        services: pd.DataFrame,
        interactions: pd.DataFrame,
        *,
        sources: dict[str, str] | None = None,
        strict: bool = True,
    ) -> Dataset:
        """Validate raw frames and build a dataset.

        Parameters
        ----------
        residents, communities, services, interactions : pandas.DataFrame
            Raw tables, any dtypes; column names as in :class:`features.Columns`.
        sources : dict, optional
            Table name → name shown in error messages (file path or SQL table). Defaults to the table name.
        strict : bool, default True
            Raise :class:`DataValidationError` listing every violation. With ``False``, rows with
            violations are dropped and counted in :attr:`dropped` (never silently).

        Raises
        ------
        DataValidationError
            With every violation of every table, each naming source, row and column.
        """
        sources = sources or {}
        raw = {"residents": residents, "communities": communities, "services": services,
               "interactions": interactions}
        typed: dict[str, pd.DataFrame] = {}
        logs: dict[str, ViolationLog] = {}
        for name, spec in TABLES.items():
            typed[name], logs[name] = coerce_table(raw[name], spec, sources.get(name, name))
        for name, spec in TABLES.items():
            for fk in spec.foreign_keys:
                frame = typed[name]
                valid = frame[fk.column].isin(typed[fk.table][fk.target]).to_numpy(dtype=bool)
                bad = ~valid & frame[fk.column].notna().to_numpy(dtype=bool)
                positions = np.flatnonzero(bad)
                logs[name].add(positions, fk.column,
                               (f"unknown {fk.table[:-1]} id {frame[fk.column].iloc[p]!r}" for p in positions))
        total = sum(log.total for log in logs.values())
        if total and strict:
            kept = [v for log in logs.values() for v in log.kept][:MAX_KEPT]
            raise DataValidationError(kept, total)
        dropped: dict[str, int] = {}
        if total:
            typed, dropped = _drop_violating_rows(typed, logs)
        return cls._assemble(typed, dropped)

    @classmethod
    def _assemble(cls, typed: dict[str, pd.DataFrame], dropped: dict[str, int]) -> Dataset:
        interactions = typed["interactions"].sort_values(C.TIMESTAMP, kind="stable").reset_index(drop=True)
        return cls(
            residents=typed["residents"],
            communities=typed["communities"],
            services=typed["services"],
            interactions=interactions,
            resident_ids=IdMap.from_values("resident", typed["residents"][C.RESIDENT]),
            service_ids=IdMap.from_values("service", typed["services"][C.SERVICE]),
            dropped=dropped,
        )

    def resident_geography(self) -> pd.DataFrame:
        """Residents joined with their community's street and district ids."""
        geo = self.communities[[C.COMMUNITY, C.STREET, C.DISTRICT]]
        return self.residents.merge(geo, on=C.COMMUNITY, how="left")

    def until(self, cutoff: pd.Timestamp | str) -> Dataset:
        """The same dataset with only the interactions strictly before ``cutoff``."""
        cutoff = pd.Timestamp(cutoff)
        end = int(np.searchsorted(self.interactions[C.TIMESTAMP].to_numpy(), np.datetime64(cutoff), "left"))
        return Dataset(self.residents, self.communities, self.services,
                       self.interactions.iloc[:end], self.resident_ids, self.service_ids, self.dropped)

    def history_end(self) -> pd.Timestamp:
        """Midnight after the day of the last interaction (tomorrow's midnight when there are none).

        The default cut-off everywhere: features, personas, models and time splits "as of now".
        """
        stamps = self.interactions[C.TIMESTAMP]
        last = stamps.iloc[-1] if len(stamps) else pd.Timestamp.now()
        return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)

    def fingerprint(self) -> str:
        """A SHA-256 over the content of all four tables, to tie a model to the exact data it saw."""
        digest = hashlib.sha256()
        for frame in (self.residents, self.communities, self.services, self.interactions):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        return digest.hexdigest()

    def summary(self) -> dict[str, int]:
        """Row counts of every table."""
        return {"residents": len(self.residents), "communities": len(self.communities),
                "services": len(self.services), "interactions": len(self.interactions)}


def _drop_violating_rows(
    typed: dict[str, pd.DataFrame], logs: dict[str, ViolationLog]
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    if any(log.total > len(log.kept) for log in logs.values()):
        raise DataValidationError([v for log in logs.values() for v in log.kept],
                                  sum(log.total for log in logs.values()))
    missing = [v for log in logs.values() for v in log.kept if v.row is None]
    if missing:
        raise DataValidationError(missing)
    dropped: dict[str, int] = {}
    out: dict[str, pd.DataFrame] = {}
    for name, frame in typed.items():
        rows = sorted({v.row - 1 for v in logs[name].kept if isinstance(v, Violation) and v.row})
        out[name] = frame.drop(index=frame.index[rows]).reset_index(drop=True)
        dropped[name] = len(rows)
    # dropping residents or services can orphan interactions: drop and count those too
    keep = (out["interactions"][C.RESIDENT].isin(out["residents"][C.RESIDENT])
            & out["interactions"][C.SERVICE].isin(out["services"][C.SERVICE]))
    dropped["interactions"] += int((~keep).sum())
    out["interactions"] = out["interactions"][keep.to_numpy()].reset_index(drop=True)
    return out, dropped
