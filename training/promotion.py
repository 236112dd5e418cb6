"""The promotion gate: a new version becomes ``champion`` only if it beats the current champion."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field


class GateConfig(BaseModel):
    """Promotion thresholds.

    Attributes
    ----------
    metric : str
        The overall metric that must improve (strictly).
    persona_tolerance : float
        A persona's NDCG may drop by at most this much (absolute) against the champion.
    min_persona_residents : int
        Personas with fewer test residents are not judged (too noisy).
    online_tolerance : float
        Where enough feedback exists, the candidate's online CTR (observed under A/B, or the upper bound of its
        off-policy estimate) may be at most this much (absolute) below the champion's observed CTR.
    online_min_impressions : int
        The online check judges only when both sides rest on at least this many impressions.
    online_min_support : float
        An off-policy estimate judges only when at least this share of the candidate's services were ever
        shown to the logged residents (below it the estimate is biased down, so it cannot refuse).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = "ndcg@10"
    persona_tolerance: float = Field(0.02, ge=0)
    min_persona_residents: int = Field(30, ge=0)
    online_tolerance: float = Field(0.01, ge=0)
    online_min_impressions: int = Field(2000, ge=0)
    online_min_support: float = Field(0.8, ge=0, le=1)


@dataclass(frozen=True)
class OnlineEvidence:
    """Online CTRs the gate compares (see :mod:`training.online_gate`, which measures them).

    Attributes
    ----------
    champion_ctr : float
        The champion's observed CTR on its served lists.
    champion_impressions : int
        Impressions behind it.
    candidate_ctr : float
        The candidate's observed CTR under A/B (``source="a/b"``), or the upper confidence bound of its
        off-policy estimate (``source="off-policy"``): the benefit of the doubt.
    candidate_impressions : int
        Impressions behind it (for off-policy: the champion's logged impressions the estimate averages over).
    source : str
        ``"a/b"`` or ``"off-policy"``.
    support : float
        Off-policy only: share of the candidate's services ever shown to the logged residents (1 for A/B).
    """

    champion_ctr: float
    champion_impressions: int
    candidate_ctr: float
    candidate_impressions: int
    source: str = "off-policy"
    support: float = 1.0


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and every reason behind it."""

    promoted: bool
    alias: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"promoted": self.promoted, "alias": self.alias, "reasons": list(self.reasons)}


def decide(candidate: dict[str, object], champion: dict[str, object] | None, config: GateConfig,
           persona_counts: dict[str, int] | None = None, online: OnlineEvidence | None = None) -> Decision:
    """Compare a candidate's metrics with the champion's, both measured on the same test window.

    Parameters
    ----------
    candidate, champion : dict
        Metric dicts with ``config.metric`` and ``per_persona_ndcg@10``; ``champion`` is ``None`` when
        there is no champion yet.
    config : GateConfig
    persona_counts : dict, optional
        Test residents per persona; personas under ``min_persona_residents`` are not judged.
    online : OnlineEvidence, optional
        Online CTRs; where both rest on ``online_min_impressions`` impressions, a candidate whose CTR is below
        the champion's by more than ``online_tolerance`` is refused.
    """
    if champion is None:
        return Decision(True, "champion", ["no champion yet: the first version becomes champion"])
    reasons: list[str] = []
    new, old = _metric(candidate, config.metric), _metric(champion, config.metric)
    better = new > old
    reasons.append(f"{config.metric} {new:.4f} {'>' if better else '≤'} champion's {old:.4f}")
    worse_personas = []
    new_personas = _persona_scores(candidate)
    old_personas = _persona_scores(champion)
    for persona, old_value in sorted(old_personas.items()):
        if persona not in new_personas:
            continue
        if persona_counts is not None and persona_counts.get(persona, 0) < config.min_persona_residents:
            reasons.append(f"persona {persona}: too few test residents to judge")
            continue
        drop = old_value - new_personas[persona]
        if drop > config.persona_tolerance:
            worse_personas.append(persona)
            reasons.append(f"persona {persona}: NDCG@10 drops by {drop:.4f} > tolerance {config.persona_tolerance}")
    if not worse_personas:
        reasons.append(f"no persona drops by more than {config.persona_tolerance}")
    online_ok = _online_check(online, config, reasons)
    promoted = better and not worse_personas and online_ok
    return Decision(promoted, "champion" if promoted else "challenger", reasons)


def _metric(metrics: dict[str, object], name: str) -> float:
    """The number ``metrics[name]``; a missing key raises ``KeyError``, a non-number ``TypeError``."""
    value = metrics[name]
    if not isinstance(value, (int, float, str)):
        raise TypeError(f"metric {name!r} is not a number: {value!r}")
    return float(value)


def _persona_scores(metrics: dict[str, object]) -> dict[str, float]:
    """The ``per_persona_ndcg@10`` mapping of a metric dict (empty when absent)."""
    value = metrics.get("per_persona_ndcg@10", {}) or {}
    if not isinstance(value, dict):
        raise TypeError(f"per_persona_ndcg@10 is not a mapping: {value!r}")
    return {str(persona): float(score) for persona, score in value.items()}


def _online_check(online: OnlineEvidence | None, config: GateConfig, reasons: list[str]) -> bool:
    """Whether the online evidence lets the candidate pass; appends the reason."""
    if online is None:
        reasons.append("online: no feedback to judge")
        return True
    what = "A/B CTR" if online.source == "a/b" else "off-policy CTR upper bound"
    fewest = min(online.champion_impressions, online.candidate_impressions)
    if fewest < config.online_min_impressions:
        reasons.append(f"online: too little feedback to judge ({fewest} < {config.online_min_impressions} "
                       "impressions)")
        return True
    if online.source != "a/b" and online.support < config.online_min_support:
        reasons.append(f"online: off-policy support {online.support:.2f} < {config.online_min_support} "
                       "(too few of the candidate's services were ever shown), not judged")
        return True
    if math.isnan(online.champion_ctr) or math.isnan(online.candidate_ctr):
        reasons.append("online: a CTR is undefined, not judged")
        return True
    drop = online.champion_ctr - online.candidate_ctr
    if drop > config.online_tolerance:
        reasons.append(f"online: {what} {online.candidate_ctr:.4f} is below champion's CTR {online.champion_ctr:.4f} "
                       f"by {drop:.4f} > tolerance {config.online_tolerance}")
        return False
    reasons.append(f"online: {what} {online.candidate_ctr:.4f} vs champion's CTR {online.champion_ctr:.4f} "
                   f"(within tolerance {config.online_tolerance})")
    return True
