"""The recommender's service rules, applied to one known resident's free-text request.

``/recommendations`` lists come out of :meth:`recommenders.hybrid.HybridRecommender.recommend`, which applies
:class:`recommenders.rules.ServiceRules`: eligibility (age, children, residence, community scope), one-off services
not offered again, accessibility first and the offline quota. A request for services named in the resident's own
words gets the same rules, read from the same bundle: :meth:`ResidentRules.facts` gives the rules' inputs (the
cross features of the resident with every service, precomputed for every known resident when the model version
loads) and the services they allow, and :meth:`ResidentRules.order`
ranks text-matched services with :meth:`ServiceRules.select`. Only the diversity rules (at most so many services
per category, at least so many categories) are left out: a resident who asks for home care wants home care.

Why a service is not offered is read from the rule inputs (:data:`REASONS`), not decided again here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from features.columns import Columns as C
from recommenders.rules import RULE_RESIDENT_FEATURES, ServiceRules
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
#: Residents whose rule inputs are computed together when a model version loads (one vectorised call each).
_BATCH: Final = 2000
#: Reason codes of the precomputed table: index into this tuple, −1 where the service is allowed.
_REASON_LIST: Final = (*REASONS.values(), USED_ONE_OFF)


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
    rule_resident : pandas.DataFrame
        The resident's :data:`RULE_RESIDENT_FEATURES` (one row), as :meth:`ServiceRules.select` reads them.
    cross : pandas.DataFrame
        ``accessibility_match`` per service, as :meth:`ServiceRules.select` reads it.
    """

    resident_id: str
    community: str | None
    prefers_offline: bool
    allowed: np.ndarray
    reasons: tuple[tuple[str, str, str] | None, ...]
    rule_resident: pd.DataFrame
    cross: pd.DataFrame


@dataclass(frozen=True)
class _RuleTable:
    """Every known resident's rule inputs, computed once per model version (residents × services)."""

    allowed: np.ndarray  # bool
    reason: np.ndarray  # int8 index into _REASON_LIST, −1 where allowed
    fits: np.ndarray  # bool: accessibility_match == 1
    resident: np.ndarray  # float64 (residents, 2): RULE_RESIDENT_FEATURES


class ResidentRules:
    """The bundle's service rules for single residents, their inputs precomputed for every known resident.

    The inputs (cross features of each resident with every service) are computed when the model version loads,
    in batches of :data:`_BATCH` residents: one vectorised call per batch instead of a pandas round per
    resident at their first request (which cost about 6 ms on an idle core, most of it pandas overhead). What is
    kept is small: three bytes per resident and service.

    Parameters
    ----------
    bundle : ModelBundle
        The served bundle; its recommender's fitted rules and feature pipeline are used as they are.
    """

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.rules: ServiceRules = bundle.rules().without_diversity()
        self.services = bundle.service_ids().to_numpy(dtype=object)
        residents = bundle.resident_ids()
        self._row = {str(r): i for i, r in enumerate(residents)}
        self._table = self._precompute(residents.to_numpy(dtype=object))

    def known(self, resident_id: str) -> bool:
        """Whether the bundle knows the resident."""
        return resident_id in self._row

    def facts(self, resident_id: str) -> ResidentFacts | None:
        """The rule inputs of a known resident; ``None`` for a resident the bundle does not know."""
        internal = self._row.get(resident_id)
        if internal is None:
            return None
        t = self._table
        codes = t.reason[internal]
        reasons = tuple(None if c < 0 else _REASON_LIST[c] for c in codes.tolist())
        values = t.resident[internal]
        rule_resident = pd.DataFrame([values], index=pd.Index([resident_id]), columns=list(RULE_RESIDENT_FEATURES))
        cross = pd.DataFrame({"accessibility_match": t.fits[internal].astype(np.float64)})
        prefers = values[RULE_RESIDENT_FEATURES.index("prefers_offline")] == 1
        return ResidentFacts(resident_id=resident_id, community=self.bundle.home_community(resident_id),
                             prefers_offline=bool(prefers), allowed=t.allowed[internal], reasons=reasons,
                             rule_resident=rule_resident, cross=cross)

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

    def _precompute(self, residents: np.ndarray) -> _RuleTable:
        """The rule inputs of ``residents`` (all the bundle knows), :data:`_BATCH` at a time."""
        m = len(self.services)
        n = len(residents)
        allowed = np.zeros((n, m), dtype=bool)
        reason = np.full((n, m), -1, dtype=np.int8)
        fits = np.zeros((n, m), dtype=bool)
        resident = np.zeros((n, len(RULE_RESIDENT_FEATURES)), dtype=np.float64)
        for start in range(0, n, _BATCH):
            ids = residents[start:start + _BATCH]
            b = len(ids)
            pairs = pd.DataFrame({C.RESIDENT: np.repeat(ids, m), C.SERVICE: np.tile(self.services, b)})
            cross = self.bundle.cross_features(pairs)
            ok = self.rules.allowed(cross, (b, m))
            allowed[start:start + b] = ok
            reason[start:start + b] = self._reasons(cross, ok)
            fits[start:start + b] = cross["accessibility_match"].to_numpy(dtype=np.float64).reshape(b, m) == 1
            resident[start:start + b] = self.bundle.rule_residents(ids).to_numpy(dtype=np.float64, na_value=np.nan)
        return _RuleTable(allowed=allowed, reason=reason, fits=fits, resident=resident)

    def _reasons(self, cross: pd.DataFrame, allowed: np.ndarray) -> np.ndarray:
        """Per pair, the index in :data:`_REASON_LIST` of the first rule input that excludes it (a used one-off
        service when none does), −1 where allowed."""
        unknown_ok = self.rules.config.unknown_is_eligible
        out = np.where(allowed, -1, len(_REASON_LIST) - 1).astype(np.int8)
        undecided = ~allowed
        for code, name in enumerate(REASONS):
            value = cross[name].to_numpy(dtype=np.float64).reshape(allowed.shape)
            fails = undecided & (value != 1) & ~(np.isnan(value) & unknown_ok)
            out[fails] = code
            undecided &= ~fails
        return out


__all__ = ["REASONS", "USED_ONE_OFF", "ResidentFacts", "ResidentRules"]
