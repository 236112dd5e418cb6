"""Ranked lists of many residents held column-wise in memory, answered in microseconds.

A :class:`RankedLists` holds, per resident, the services the bundle's ``recommend`` chose (internal service
ids, scores and explanation codes, in rank order). :meth:`RankedLists.pick` answers a request for ``k``
services, optionally among those fitting a context, by re-applying the one rule that depends on ``k`` — the
offline quota (:class:`recommenders.rules.ServiceRules`): an offline-preferring resident keeps their first
``offline_quota`` offline-capable services in any list. For ``k`` up to the precomputed length the answer
equals ``recommend(k)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import pandas as pd

from features.columns import Columns as C
from recommenders.base import SCORE

_FORMAT: Final = 2  # 2: lists carry an exploration tail (``depth``)
EXPLANATION, EXPLANATION_ZH = "explanation", "explanation_zh"


class Pick(NamedTuple):
    """One recommended service: internal service id, score and explanations."""

    service: int
    score: float
    explanation: str
    explanation_zh: str


@dataclass(frozen=True)
class RankedLists:
    """Precomputed lists: row ``i`` of ``residents`` owns ``services[offsets[i]:offsets[i + 1]]``.

    Attributes
    ----------
    residents : pandas.Index
        External resident ids, one per list.
    offsets : ndarray of int64, shape (n + 1,)
    services : ndarray of int32
        Internal service ids, in rank order within each list.
    scores : ndarray of float64
    explanations : ndarray of int32
        Codes into ``texts_en`` and ``texts_zh``.
    texts_en, texts_zh : list of str
    prefers_offline : ndarray of bool, shape (n,)
        Whether the offline quota applies to the resident.
    k : int
        Length the lists were computed for (they are shorter when fewer services qualify); up to ``k`` a
        :meth:`pick` equals the bundle's ``recommend(k)``, explanations included.
    depth : int
        Services stored past ``k`` (the exploration pool, :mod:`serving.exploration`): ranked as
        ``recommend(k + depth)`` ranks them, explained by their checkable reasons only.
    """

    residents: pd.Index
    offsets: np.ndarray
    services: np.ndarray
    scores: np.ndarray
    explanations: np.ndarray
    texts_en: list[str]
    texts_zh: list[str]
    prefers_offline: np.ndarray
    k: int
    depth: int = 0

    @classmethod
    def from_recommendations(cls, frame: pd.DataFrame, resident_ids: list[str] | pd.Index, service_ids: pd.Index,
                             prefers_offline: np.ndarray, k: int, depth: int = 0) -> RankedLists:
        """Pack the output of ``ModelBundle.recommend(resident_ids, k + depth, explain=True)``.

        ``frame`` rows are in resident order then rank order, as ``recommend`` returns them.
        """
        residents = pd.Index(np.asarray(resident_ids, dtype=object))
        rows = residents.get_indexer(frame[C.RESIDENT].to_numpy(dtype=object))
        if (rows < 0).any() or (np.diff(rows) < 0).any():
            raise ValueError("recommendations must cover the given residents, in their order")
        services = service_ids.get_indexer(frame[C.SERVICE].to_numpy(dtype=object)).astype(np.int32)
        if (services < 0).any():
            raise ValueError("recommendations name services the model does not know")
        counts = np.bincount(rows, minlength=len(residents))
        en = frame[EXPLANATION] if EXPLANATION in frame else pd.Series([""] * len(frame))
        zh = frame[EXPLANATION_ZH] if EXPLANATION_ZH in frame else pd.Series([""] * len(frame))
        codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([en.astype(str).to_numpy(),
                                                                  zh.astype(str).to_numpy()]))
        return cls(residents=residents, offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                   services=services, scores=frame[SCORE].to_numpy(dtype=np.float64),
                   explanations=codes.astype(np.int32), texts_en=[str(t[0]) for t in uniques],
                   texts_zh=[str(t[1]) for t in uniques],
                   prefers_offline=np.asarray(prefers_offline, dtype=bool), k=k, depth=depth)

    @classmethod
    def concat(cls, parts: list[RankedLists]) -> RankedLists:
        """Join lists of disjoint resident sets (in the given order)."""
        if not parts:
            raise ValueError("nothing to join")
        shift = np.cumsum([0] + [len(p.texts_en) for p in parts[:-1]])
        codes = np.concatenate([p.explanations.astype(np.int64) + s for p, s in zip(parts, shift, strict=True)])
        en = [t for p in parts for t in p.texts_en]
        zh = [t for p in parts for t in p.texts_zh]
        remap, pairs = pd.factorize(pd.MultiIndex.from_arrays([en, zh])) if en else (np.zeros(0, np.int64), [])
        sizes = np.concatenate([np.diff(p.offsets) for p in parts])
        return cls(residents=parts[0].residents.append([p.residents for p in parts[1:]]),
                   offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
                   services=np.concatenate([p.services for p in parts]),
                   scores=np.concatenate([p.scores for p in parts]),
                   explanations=remap[codes].astype(np.int32) if len(codes) else codes.astype(np.int32),
                   texts_en=[str(t[0]) for t in pairs], texts_zh=[str(t[1]) for t in pairs],
                   prefers_offline=np.concatenate([p.prefers_offline for p in parts]), k=parts[0].k,
                   depth=parts[0].depth)

    def __len__(self) -> int:
        return len(self.residents)

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the arrays and texts."""
        arrays = (self.offsets, self.services, self.scores, self.explanations, self.prefers_offline)
        texts = sum(len(t.encode()) + 50 for t in self.texts_en + self.texts_zh)
        return int(sum(a.nbytes for a in arrays) + texts + 100 * len(self.residents))

    def row_of(self, resident_id: str) -> int:
        """Row of a resident, or -1 when the lists do not cover them."""
        try:
            return int(self.residents.get_loc(resident_id))
        except (KeyError, TypeError):
            return -1

    def pick(self, row: int, k: int, allowed: np.ndarray | None, quota: int, offline_capable: np.ndarray
             ) -> list[Pick]:
        """The first ``k`` services of one list (among ``allowed`` ones), with the offline quota re-applied.

        Parameters
        ----------
        row : int
            From :meth:`row_of`.
        k : int
            At most :attr:`k` for the exact ``recommend(k)`` answer; up to ``k + depth`` reaches into the
            exploration pool.
        allowed : ndarray of bool, optional
            Mask over all services (the request context); ``None`` keeps every service.
        quota : int
            ``RulesConfig.offline_quota``.
        offline_capable : ndarray of bool
            Per service, whether it can be used offline.
        """
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        services = self.services[start:end]
        index = np.arange(start, end)
        if allowed is not None:
            keep = allowed[services]
            services, index = services[keep], index[keep]
        chosen = select_with_quota(offline_capable[services], bool(self.prefers_offline[row]), k, quota)
        return [Pick(int(self.services[i]), float(self.scores[i]), self.texts_en[self.explanations[i]],
                     self.texts_zh[self.explanations[i]]) for i in index[chosen]]

    def save(self, path: Path) -> Path:
        """Write the lists to one ``.npz`` file (atomically: a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            np.savez(handle, format=np.array(_FORMAT), k=np.array(self.k), depth=np.array(self.depth),
                     residents=self.residents.to_numpy(dtype=str), offsets=self.offsets, services=self.services,
                     scores=self.scores, explanations=self.explanations, texts_en=np.array(self.texts_en, dtype=str),
                     texts_zh=np.array(self.texts_zh, dtype=str), prefers_offline=self.prefers_offline)
        os.replace(partial, path)
        return path

    @classmethod
    def load(cls, path: Path) -> RankedLists:
        """Read lists written by :meth:`save`; raises ``ValueError`` for anything else."""
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != _FORMAT:
                raise ValueError(f"{path}: unknown ranked-lists format {int(data['format'])}")
            return cls(residents=pd.Index(data["residents"].astype(object)), offsets=data["offsets"],
                       services=data["services"], scores=data["scores"], explanations=data["explanations"],
                       texts_en=data["texts_en"].tolist(), texts_zh=data["texts_zh"].tolist(),
                       prefers_offline=data["prefers_offline"], k=int(data["k"]), depth=int(data["depth"]))


def select_with_quota(capable: np.ndarray, prefers_offline: bool, k: int, quota: int) -> np.ndarray:
    """Positions of the services chosen from one ranked list, as ``ServiceRules.select`` chooses them.

    The first ``quota`` offline-capable services of an offline-preferring resident are always in; the
    others fill the list in rank order up to ``k``; the chosen keep their rank order.
    """
    if prefers_offline and quota > 0:
        promoted = capable & (np.cumsum(capable) <= quota)
    else:
        promoted = np.zeros(len(capable), dtype=bool)
    others = ~promoted
    room = k - min(int(promoted.sum()), k)
    chosen = promoted | (others & (np.cumsum(others) <= room))
    return np.flatnonzero(chosen)[:k]


__all__ = ["EXPLANATION", "EXPLANATION_ZH", "Pick", "RankedLists", "select_with_quota"]
