"""The A/B report: online metrics of every variant against the champion, with intervals and a verdict.

Each variant's metric is a ratio of per-resident sums (see :mod:`training.online_metrics`); under sticky
per-resident assignment the arms are independent samples of residents, so the difference ``variant − champion``
has variance ``se²(variant) + se²(champion)`` (delta method, resident-clustered) and a normal interval. With more
than one variant compared to the champion, the confidence is Bonferroni-corrected so the chance of any false
verdict stays below ``1 − confidence``. Every metric is "higher is better".

Verdicts: ``"challenger wins"`` (interval above 0), ``"champion wins"`` (below 0), ``"no significant difference"``,
``"not enough data"`` (an arm has fewer than ``min_residents`` residents, or the metric is undefined); the
``reason`` says why in words.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

import pandas as pd

from features.columns import Columns as C
from training.online_metrics import (
    MODEL_VERSION,
    RATIOS,
    VARIANT,
    OnlineMetricsError,
    json_ready,
    label_impressions,
    ratio_ci,
    resident_units,
    z_value,
)

CHAMPION: Final = "champion"
WINS, LOSES, TIE, NO_DATA = "challenger wins", "champion wins", "no significant difference", "not enough data"


@dataclass(frozen=True)
class Arm:
    """One variant's exposure and metrics (value with its interval)."""

    variant: str
    model_versions: list[str]
    residents: int
    lists: int
    impressions: int
    metrics: dict[str, dict[str, float]]


@dataclass(frozen=True)
class Comparison:
    """``variant − baseline`` on one metric."""

    variant: str
    metric: str
    baseline_value: float
    value: float
    difference: float
    low: float
    high: float
    relative: float
    verdict: str
    reason: str


@dataclass(frozen=True)
class ABReport:
    """Variants compared with the baseline (the champion) on every online metric.

    Attributes
    ----------
    metric : str
        The metric the headline verdict is on.
    verdict, reason : str
        Headline: the challenger (or the only other variant) against the champion on ``metric``.
    confidence : float
        Requested confidence; ``adjusted_confidence`` is the Bonferroni-corrected one each interval uses.
    arms : list of Arm
    comparisons : list of Comparison
        Every (variant, metric) against the baseline.
    residents_in_several_arms : int
        Residents who saw more than one variant (sticky assignment keeps this 0; if not, arms are not independent).
    """

    metric: str
    verdict: str
    reason: str
    baseline: str
    confidence: float
    adjusted_confidence: float
    min_residents: int
    arms: list[Arm]
    comparisons: list[Comparison]
    residents_in_several_arms: int = 0
    window: dict[str, str | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN as ``None``)."""
        return json_ready(asdict(self))

    def table(self) -> str:
        """A human-readable table: one line per (metric, variant), then the verdict."""
        lines = [f"{'metric':<13}{'variant':<14}{'value':>9}{'vs ' + self.baseline:>14}{'difference':>12}"
                 f"{'interval (' + format(self.adjusted_confidence, '.1%') + ')':>26}  verdict"]
        for row in self.comparisons:
            lines.append(f"{row.metric:<13}{row.variant:<14}{_num(row.value):>9}{_num(row.baseline_value):>14}"
                         f"{_num(row.difference, signed=True):>12}"
                         f"{'[' + _num(row.low, signed=True) + ', ' + _num(row.high, signed=True) + ']':>26}"
                         f"  {row.verdict}")
        exposure = "; ".join(f"{a.variant}: {a.residents} residents, {a.lists} lists, {a.impressions} impressions"
                             f" (version {', '.join(a.model_versions)})" for a in self.arms)
        lines += ["", f"exposure — {exposure or 'none'}", f"verdict on {self.metric}: {self.verdict} — {self.reason}"]
        return "\n".join(lines)


def ab_report(served: pd.DataFrame, events: pd.DataFrame, *, metric: str = "ctr", confidence: float = 0.95,
              min_residents: int = 100, baseline: str = CHAMPION, since: datetime | str | None = None,
              until: datetime | str | None = None) -> ABReport:
    """Compare every variant with ``baseline`` on the online metrics of the lists served in ``[since, until)``.

    Parameters
    ----------
    served, events : pandas.DataFrame
        ``FeedbackStore.served()`` and ``FeedbackStore.events()``.
    metric : {"ctr", "booking_rate", "use_rate", "mean_rating"}, default "ctr"
        The metric of the headline verdict (all are compared).
    confidence : float, default 0.95
    min_residents : int, default 100
        Fewest residents each arm needs before a verdict other than "not enough data".
    baseline : str, default "champion"
    since, until : datetime or str, optional

    Returns
    -------
    ABReport
    """
    if metric not in RATIOS:
        raise OnlineMetricsError(f"unknown metric {metric!r}; choose one of {', '.join(RATIOS)}")
    if min_residents < 2:
        raise OnlineMetricsError(f"min_residents must be at least 2, got {min_residents}")
    z_value(confidence)
    labelled = label_impressions(served, events, since=since, until=until)
    labelled = labelled.assign(**{VARIANT: labelled[VARIANT].astype("string")})
    units = resident_units(labelled, [VARIANT])
    variants = sorted(units[VARIANT].unique(), key=lambda v: (v != baseline, v != "challenger", v))
    others = [v for v in variants if v != baseline]
    adjusted = 1 - (1 - confidence) / max(len(others), 1)
    arms = [_arm(variant, units[units[VARIANT] == variant], labelled, adjusted) for variant in variants]
    by_name = {a.variant: a for a in arms}
    comparisons = [_compare(by_name.get(baseline), by_name[v], m, adjusted, min_residents, baseline)
                   for m in RATIOS for v in others]
    window = {"since": None if since is None else str(since), "until": None if until is None else str(until)}
    several = int((units.groupby(C.RESIDENT)[VARIANT].nunique() > 1).sum()) if len(units) else 0
    if not others:
        present = f"only {', '.join(variants)}" if variants else "no served lists"
        verdict, reason = NO_DATA, f"nothing to compare with {baseline}: {present} in the window"
    else:
        head = next(c for c in comparisons if c.metric == metric)
        verdict, reason = head.verdict, f"{head.variant} vs {baseline}: {head.reason}"
    return ABReport(metric=metric, verdict=verdict, reason=reason, baseline=baseline, confidence=confidence,
                    adjusted_confidence=adjusted, min_residents=min_residents, arms=arms, comparisons=comparisons,
                    residents_in_several_arms=several, window=window)


def _arm(variant: str, units: pd.DataFrame, labelled: pd.DataFrame, confidence: float) -> Arm:
    metrics = {}
    for name, (num, den) in RATIOS.items():
        est = ratio_ci(units[num], units[den], confidence)
        metrics[name] = {"value": est.value, "se": est.se, "low": est.low, "high": est.high}
    versions = labelled.loc[labelled[VARIANT] == variant, MODEL_VERSION].astype(str).unique().tolist()
    return Arm(variant=variant, model_versions=sorted(versions, key=lambda v: (len(v), v)), residents=len(units),
               lists=int(units["lists"].sum()), impressions=int(units["impressions"].sum()), metrics=metrics)


def _compare(base: Arm | None, arm: Arm, metric: str, confidence: float, min_residents: int,
             baseline: str) -> Comparison:
    nan = math.nan
    if base is None:
        return Comparison(arm.variant, metric, nan, arm.metrics[metric]["value"], nan, nan, nan, nan, NO_DATA,
                          f"no {baseline} lists in the window")
    b, a = base.metrics[metric], arm.metrics[metric]
    difference = a["value"] - b["value"]
    se = math.sqrt(a["se"] ** 2 + b["se"] ** 2) if a["se"] == a["se"] and b["se"] == b["se"] else nan
    half = z_value(confidence) * se
    low, high = difference - half, difference + half
    relative = difference / b["value"] if b["value"] else nan
    few = [x for x in (base, arm) if x.residents < min_residents]
    if few:
        verdict = NO_DATA
        reason = "; ".join(f"{x.variant} has {x.residents} residents, needs at least {min_residents}" for x in few)
    elif math.isnan(difference) or math.isnan(se):
        verdict, reason = NO_DATA, f"{metric} is undefined for an arm (no {RATIOS[metric][1]})"
    else:
        interval = f"{difference:+.4f} [{low:+.4f}, {high:+.4f}] at {confidence:.1%}"
        if low > 0:
            verdict = WINS if arm.variant == "challenger" else f"{arm.variant} wins"
        elif high < 0:
            verdict = LOSES if base.variant == CHAMPION else f"{base.variant} wins"
        else:
            verdict = TIE
        reason = f"{metric} difference {interval}"
    return Comparison(arm.variant, metric, b["value"], a["value"], difference, low, high, relative, verdict, reason)


def _num(value: float, *, signed: bool = False) -> str:
    if value != value:
        return "—"
    return f"{value:+.4f}" if signed else f"{value:.4f}"
