"""The recommender's service rules, applied to one known resident's free-text request.

``/recommendations`` lists come out of :meth:`recommenders.hybrid.HybridRecommender.recommend`, which applies
:class:`recommenders.rules.ServiceRules`: eligibility (age, children, residence, community scope), one-off services
not offered again, accessibility first and the offline quota. A request for services named in the resident's own
words gets the same rules, read from the same bundle: :meth:`ResidentRules.facts` computes the rules' inputs (the
cross features of the resident with every service) and the services they allow, and :meth:`ResidentRules.order`
ranks text-matched services with :meth:`ServiceRules.select`. Only the diversity rules (at most so many services
per category, at least so many categories) are left out: a resident who asks for home care wants home care.

Why a service is not offered is read from the rule inputs (:data:`REASONS`), not decided again here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from features.columns import Columns as C
from recommenders.rules import ServiceRules
from training.bundle import ModelBundle

#: Why a rule keeps a service from a resident: rule input column → (code, English, Chinese).
REASONS: Final[dict[str, tuple[str, str, str]]] = {
    "age_match": ("age", "the resident's age is outside the service's age range", "年龄不符合该服务的条件"),
    "children_match": ("children", "the service is for households with children", "该服务面向有孩子的家庭"),
    "residency_match": ("residency", "the service requires another residence status",
                        "该服务对户籍或居住状态有要求，您的情况不符合"),
    "scope_match": ("community", "the service is not offered in the resident's community", "您所在的社区未提供该服务"),
}
#: A one-off service the resident has already used.
USED_ONE_OFF: Final = ("used_one_off", "a one-off service the resident has already used",
                       "该服务只办理一次，您已办理过")
_CACHED: Final = 4096  # residents whose rule inputs are kept


@dataclass(frozen=True)
class ResidentFacts:
    """The rule inputs of one known resident.

    Attributes
    ----------
    resident_id : str
    community : str or None
        Home community in the bundle's data.
    prefers_offline : bool
    allowed : ndarray of bool, shape (services,)
        Services the rules allow (eligible, offered in the home community, one-off not used).
    reasons : tuple of (code, English, Chinese) or None
        Per service, why it is not allowed (``None`` where allowed).
    """

    resident_id: str
    community: str | None
    prefers_offline: bool
    allowed: np.ndarray
    reasons: tuple[tuple[str, str, str] | None, ...]
    rule_resident: pd.DataFrame
    cross: pd.DataFrame


class ResidentRules:
    """The bundle's service rules for single residents, with their inputs cached per resident.

    Parameters
    ----------
    bundle : ModelBundle
        The served bundle; its recommender's fitted rules and feature pipeline are used as they are.
    """

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.rules: ServiceRules = bundle.rules().without_diversity()
        self.services = bundle.service_ids().to_numpy(dtype=object)
        self._cache: OrderedDict[str, ResidentFacts] = OrderedDict()
        self._lock = threading.Lock()

    def known(self, resident_id: str) -> bool:
        """Whether the bundle knows the resident."""
        return bool(self.bundle.knows([resident_id])[0])

    def facts(self, resident_id: str) -> ResidentFacts | None:
        """The rule inputs of a known resident; ``None`` for a resident the bundle does not know."""
        with self._lock:
            cached = self._cache.get(resident_id)
            if cached is not None:
                self._cache.move_to_end(resident_id)
                return cached
        if not self.known(resident_id):
            return None
        facts = self._compute(resident_id)
        with self._lock:
            self._cache[resident_id] = facts
            while len(self._cache) > _CACHED:
                self._cache.popitem(last=False)
        return facts

    def order(self, facts: ResidentFacts, scores: np.ndarray, k: int) -> list[int]:
        """Services to offer, best first: ``scores`` (−inf where not a candidate) ranked by the rules.

        Parameters
        ----------
        facts : ResidentFacts
        scores : ndarray of float, shape (services,)
            Relevance of each service to the request (already combined with the resident's own scores).
        k : int
            Most services offered.
        """
        chosen, _ = self.rules.select(scores[None, :], facts.allowed[None, :], facts.rule_resident, facts.cross, k)
        return [int(s) for s in chosen[0] if s >= 0]

    def _compute(self, resident_id: str) -> ResidentFacts:
        pairs = pd.DataFrame({C.RESIDENT: np.full(len(self.services), resident_id, dtype=object),
                              C.SERVICE: self.services})
        cross = self.bundle.cross_features(pairs)
        allowed = self.rules.allowed(cross, (1, len(self.services)))[0]
        rule_resident = self.bundle.rule_residents([resident_id])
        prefers = rule_resident["prefers_offline"].to_numpy(dtype=np.float64, na_value=np.nan)[0] == 1
        community = self.bundle.home_community(resident_id)
        return ResidentFacts(resident_id=resident_id, community=community, prefers_offline=bool(prefers),
                             allowed=allowed, reasons=self._reasons(cross, allowed), rule_resident=rule_resident,
                             cross=cross)

    def _reasons(self, cross: pd.DataFrame, allowed: np.ndarray) -> tuple[tuple[str, str, str] | None, ...]:
        """Per service, the first rule input that excludes it (a used one-off service when none does)."""
        unknown_ok = self.rules.config.unknown_is_eligible
        out: list[tuple[str, str, str] | None] = [None] * len(allowed)
        columns = {name: cross[name].to_numpy(dtype=np.float64) for name in REASONS}
        for s in np.flatnonzero(~allowed):
            out[s] = USED_ONE_OFF
            for name, reason in REASONS.items():
                value = columns[name][s]
                if value != 1 and not (np.isnan(value) and unknown_ok):
                    out[s] = reason
                    break
        return tuple(out)


__all__ = ["REASONS", "USED_ONE_OFF", "ResidentFacts", "ResidentRules"]
