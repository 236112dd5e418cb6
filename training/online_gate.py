"""The online half of the promotion gate: the champion's observed CTR against a new version's off-policy estimate.

At retrain time the new version has served nothing yet, so its online CTR is estimated from the champion's
logged impressions (:func:`training.off_policy.estimate_ctr`: inverse propensity scoring over the new
version's top-k lists for the logged residents). The champion's CTR is observed on its own served lists
(:func:`training.online_metrics.online_metrics`). Both come with confidence intervals, are logged on the run
(``online.champion_ctr*``, ``offpolicy.ctr*``) and are handed to :func:`training.promotion.decide` as
:class:`~training.promotion.OnlineEvidence`. For a version that already served under A/B,
:func:`observed_evidence` builds the evidence from both observed CTRs instead (no command calls it yet: promoting an
existing challenger is a manual alias change after ``linli ab-report``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from features.columns import Columns as C
from training.feedback_data import FeedbackLog
from training.off_policy import OffPolicyError, OffPolicyEstimate, estimate_ctr, logged_impressions
from training.online_metrics import MODEL_VERSION, REQUEST_ID, online_metrics
from training.promotion import OnlineEvidence

#: Recommends ``k`` services for each of the given residents: ``(resident_ids, k) -> resident_id, service_id, rank``.
Recommend = Callable[[list[str], int], pd.DataFrame]
CONFIDENCE: Final = 0.95
_MAX_K: Final = 50


@dataclass(frozen=True)
class ObservedCtr:
    """A version's CTR on the lists it served, with its resident-clustered confidence interval."""

    version: str
    ctr: float
    low: float
    high: float
    impressions: int
    lists: int


@dataclass(frozen=True)
class OnlineCheck:
    """What the online check measured, the evidence for the gate and why parts are missing."""

    champion: ObservedCtr | None = None
    offpolicy: OffPolicyEstimate | None = None
    evidence: OnlineEvidence | None = None
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """Flat MLflow metrics: ``online.champion_ctr`` (+ ``_low``, ``_high``, impressions) and ``offpolicy.ctr``
        (+ ``_low``, ``_high``, support and every estimator of :meth:`OffPolicyEstimate.to_metrics`)."""
        out: dict[str, float] = {}
        if self.champion is not None:
            c = self.champion
            out |= {"online.champion_ctr": c.ctr, "online.champion_ctr_low": c.low, "online.champion_ctr_high": c.high,
                    "online.champion_impressions": float(c.impressions), "online.champion_lists": float(c.lists)}
        if self.offpolicy is not None:
            ips = self.offpolicy.ips
            out |= {"offpolicy.ctr": ips.value, "offpolicy.ctr_low": ips.low, "offpolicy.ctr_high": ips.high,
                    "offpolicy.support": self.offpolicy.support}
            out |= self.offpolicy.to_metrics("offpolicy.ctr")
        return {k: float(v) for k, v in out.items() if not math.isnan(float(v))}

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (metrics and notes)."""
        return {"metrics": self.metrics(), "notes": list(self.notes)}


def observed_ctr(log: FeedbackLog, version: str, *, confidence: float = CONFIDENCE) -> ObservedCtr | None:
    """CTR of the lists ``version`` served (any variant), or ``None`` when it served none."""
    served = log.served[log.served[MODEL_VERSION].astype("string") == str(version)]
    if served.empty:
        return None
    table = online_metrics(served, log.events, by=(), confidence=confidence)
    row = table.iloc[0]
    return ObservedCtr(str(version), float(row["ctr"]), float(row["ctr_low"]), float(row["ctr_high"]),
                       int(row["impressions"]), int(row["lists"]))


def offpolicy_ctr(log: FeedbackLog, champion_version: str, recommend: Recommend, known: pd.Index, *,
                  confidence: float = CONFIDENCE) -> OffPolicyEstimate:
    """A new version's CTR estimated from the champion's logged impressions.

    Parameters
    ----------
    log : FeedbackLog
    champion_version : str
        The logging policy: only lists it served count.
    recommend : callable
        The new version's ``(resident_ids, k) -> frame`` with resident_id, service_id (and rank).
    known : pandas.Index
        Residents the new version knows; logged lists of others are left out.
    confidence : float

    Raises
    ------
    OffPolicyError
        When no logged list can be evaluated (no propensities logged, no known resident).
    """
    served = log.served[log.served[MODEL_VERSION].astype("string") == str(champion_version)]
    logged = logged_impressions(served, log.events, variant=None)
    logged = logged[logged[C.RESIDENT].isin(known)]
    if logged.empty:
        raise OffPolicyError(f"champion version {champion_version} has no logged impressions of known residents")
    sizes = logged.groupby(REQUEST_ID).size()
    k = int(min(max(int(sizes.mode().iloc[0]), 1), _MAX_K))
    residents = sorted(logged[C.RESIDENT].astype(str).unique())
    target = recommend(residents, k)
    return estimate_ctr(logged, target, confidence=confidence, k=k)


def online_check(log: FeedbackLog | None, champion_version: str | None, recommend: Recommend,
                 known: pd.Index) -> OnlineCheck:
    """Measure the champion's CTR and the new version's off-policy estimate; build the gate's evidence.

    Parts that cannot be measured (no feedback, no champion, no propensities logged) are skipped with a note;
    the gate then judges offline only.
    """
    if log is None or log.empty:
        return OnlineCheck(notes=["no feedback"])
    if champion_version is None:
        return OnlineCheck(notes=["no champion to compare with"])
    champion = observed_ctr(log, champion_version)
    if champion is None:
        return OnlineCheck(notes=[f"champion version {champion_version} served no lists"])
    try:
        estimate = offpolicy_ctr(log, champion_version, recommend, known)
    except OffPolicyError as exc:
        return OnlineCheck(champion=champion, notes=[f"no off-policy estimate: {exc}"])
    logged_impressions_used = round(estimate.lists * estimate.k)
    evidence = OnlineEvidence(champion_ctr=champion.ctr, champion_impressions=champion.impressions,
                              candidate_ctr=float(estimate.ips.high), candidate_impressions=logged_impressions_used,
                              source="off-policy", support=estimate.support)
    return OnlineCheck(champion=champion, offpolicy=estimate, evidence=evidence)


def observed_evidence(log: FeedbackLog, champion_version: str, candidate_version: str) -> OnlineEvidence | None:
    """Evidence from an A/B test: both versions' observed CTRs, or ``None`` when either served nothing."""
    champion, candidate = observed_ctr(log, champion_version), observed_ctr(log, candidate_version)
    if champion is None or candidate is None:
        return None
    return OnlineEvidence(champion_ctr=champion.ctr, champion_impressions=champion.impressions,
                          candidate_ctr=candidate.ctr, candidate_impressions=candidate.impressions, source="a/b")


def known_residents(ids: np.ndarray | pd.Index) -> pd.Index:
    """Resident ids as a string index (for :func:`offpolicy_ctr`'s ``known``)."""
    return pd.Index(np.asarray(ids, dtype=object)).astype("string")


__all__ = ["ObservedCtr", "OnlineCheck", "known_residents", "observed_ctr", "observed_evidence", "offpolicy_ctr",
           "online_check"]
