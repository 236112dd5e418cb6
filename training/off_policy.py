"""Off-policy evaluation: a challenger's online CTR estimated from the champion's logged impressions.

The champion (the logging policy) records, for every service it shows, the **propensity**: the probability
that its (randomised, exploring) policy put that service in that resident's list. Assuming a resident's click
on a shown service does not depend on what else is in the list (nor on its position), the item-level inverse
propensity score (IPS) estimate of a target policy's CTR@k is, for every logged list ``l`` of resident ``u``
with target list ``T_u`` of length ``k``::

    V_l = (1/k) · Σ_{s ∈ T_u, s shown in l} clicked(l, s) / propensity(l, s)

averaged over the logged lists. It is unbiased when every target service has a positive propensity
(``support`` = 1). Also reported: **clipped** IPS (weights ``min(1/p, clip)``: biased down, lower variance)
and **self-normalised** IPS (divides by the mean weight ``W_l = (1/k) Σ 1/p`` instead of its expectation 1).
Intervals are normal approximations with the resident as the unit (lists of one resident are correlated).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from features.columns import Columns as C
from training.online_metrics import (
    CLICKED,
    PROPENSITY,
    REQUEST_ID,
    VARIANT,
    OnlineMetricsError,
    RatioEstimate,
    json_ready,
    label_impressions,
    ratio_ci,
    require_columns,
)

LOGGED_COLUMNS: Final = (REQUEST_ID, C.RESIDENT, C.SERVICE, PROPENSITY, CLICKED)
#: Default largest importance weight of the clipped estimate (a propensity of 1 % or less counts as 1 %).
DEFAULT_CLIP: Final = 100.0


class OffPolicyError(OnlineMetricsError):
    """Logged impressions or a target policy that cannot be evaluated (missing column, bad propensity)."""


@dataclass(frozen=True)
class PolicyValue:
    """One estimator's value with its standard error and confidence interval."""

    method: str
    value: float
    se: float
    low: float
    high: float


@dataclass(frozen=True)
class OffPolicyEstimate:
    """Estimated CTR@k of a target policy from a logging policy's impressions.

    Attributes
    ----------
    ips, clipped, snips : PolicyValue
        Inverse propensity, clipped IPS (weights capped at ``clip``) and self-normalised IPS.
    clip : float or None
        The weight cap (``None``: no cap, ``clipped`` equals ``ips``).
    confidence : float
    lists, residents : int
        Logged lists and residents the estimate averages over.
    k : float
        Mean target list length.
    support : float
        Share of target (resident, service) pairs shown with positive propensity in any logged list of that
        resident; below 1 the estimate misses the never-shown part (biased down).
    matched : int
        Logged impressions that are in the target's lists.
    skipped_lists : int
        Logged lists left out: a propensity is unknown (NaN), or the resident has no target list.
    target_residents_unlogged : int
        Target residents without any usable logged list (not evaluated).
    effective_lists : float
        Kish effective sample size of the list weights ``(Σ W)² / Σ W²``; far below ``lists`` means a few
        heavy weights dominate.
    """

    ips: PolicyValue
    clipped: PolicyValue
    snips: PolicyValue
    clip: float | None
    confidence: float
    lists: int
    residents: int
    k: float
    support: float
    matched: int
    skipped_lists: int
    target_residents_unlogged: int
    effective_lists: float

    @property
    def value(self) -> float:
        """The headline (unbiased) IPS estimate."""
        return self.ips.value

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN as ``None``)."""
        return json_ready(asdict(self))

    def to_metrics(self, prefix: str = "offpolicy.ctr") -> dict[str, float]:
        """Flat MLflow metrics, e.g. ``offpolicy.ctr.ips``, ``offpolicy.ctr.ips_low``, ``offpolicy.ctr.support``."""
        out: dict[str, float] = {}
        for estimate in (self.ips, self.clipped, self.snips):
            for field in ("value", "low", "high"):
                name = estimate.method if field == "value" else f"{estimate.method}_{field}"
                out[f"{prefix}.{name}"] = getattr(estimate, field)
        out.update({f"{prefix}.support": self.support, f"{prefix}.lists": float(self.lists),
                    f"{prefix}.residents": float(self.residents), f"{prefix}.effective_lists": self.effective_lists})
        return {key: float(v) for key, v in out.items() if v == v}


def logged_impressions(served: pd.DataFrame, events: pd.DataFrame, *, variant: str | None = "champion",
                       since: Any = None, until: Any = None) -> pd.DataFrame:
    """The logging policy's impressions, ready for :func:`estimate_ctr`.

    Parameters
    ----------
    served, events : pandas.DataFrame
        ``FeedbackStore.served()`` (with its ``propensity`` column; NaN or absent means unknown) and
        ``FeedbackStore.events()``.
    variant : str or None, default "champion"
        Keep the lists of this variant (``None``: all).
    since, until : optional
        Window on ``served_at``.

    Returns
    -------
    pandas.DataFrame
        request_id, resident_id, service_id, propensity, clicked (see :mod:`training.online_metrics`).
    """
    labelled = label_impressions(served, events, since=since, until=until)
    if variant is not None:
        labelled = labelled[labelled[VARIANT] == variant]
    if PROPENSITY not in labelled.columns:
        labelled = labelled.assign(**{PROPENSITY: math.nan})
    return labelled[list(LOGGED_COLUMNS)].reset_index(drop=True)


def estimate_ctr(logged: pd.DataFrame, target: pd.DataFrame, *, clip: float | None = DEFAULT_CLIP,
                 confidence: float = 0.95, k: int | None = None) -> OffPolicyEstimate:
    """Estimate the target policy's CTR@k from the logging policy's impressions (item-level IPS).

    Parameters
    ----------
    logged : pandas.DataFrame
        One row per impression of the logging policy: request_id, resident_id, service_id, propensity
        (probability the logging policy showed that service in that list, in (0, 1]; NaN = unknown, and the
        list is then skipped) and clicked (bool). See :func:`logged_impressions`.
    target : pandas.DataFrame
        The target policy's lists: resident_id, service_id (one row per recommended service; a ``rank``
        column, when present, orders them for ``k``).
    clip : float or None, default 100
        Largest importance weight of the clipped estimate; ``None`` disables clipping.
    confidence : float, default 0.95
    k : int, optional
        Keep only each resident's first ``k`` target services; default: the whole list.

    Returns
    -------
    OffPolicyEstimate

    Raises
    ------
    OffPolicyError
        A column is missing, a propensity is outside (0, 1], ``clip`` is not positive or nothing can be evaluated.
    """
    require_columns(logged, LOGGED_COLUMNS, "logged", OffPolicyError)
    require_columns(target, (C.RESIDENT, C.SERVICE), "target", OffPolicyError)
    if clip is not None and not clip > 0:
        raise OffPolicyError(f"clip must be a positive weight cap or None, got {clip}")
    logged = logged.assign(**{C.RESIDENT: logged[C.RESIDENT].astype("string"),
                              C.SERVICE: logged[C.SERVICE].astype("string"),
                              PROPENSITY: pd.to_numeric(logged[PROPENSITY], errors="coerce").astype("float64")})
    bad = logged[(logged[PROPENSITY] <= 0) | (logged[PROPENSITY] > 1)]
    if len(bad):
        row = bad.index[0]
        raise OffPolicyError(f"logged row {row}: propensity {bad[PROPENSITY].iloc[0]} is outside (0, 1] "
                             f"(request_id {bad[REQUEST_ID].iloc[0]!r}); {len(bad)} such row(s)")
    lists = _target_lists(target, k)
    sizes = lists.groupby(C.RESIDENT).size().rename("k")
    unknown = logged.loc[logged[PROPENSITY].isna(), REQUEST_ID].unique()
    usable = logged[~logged[REQUEST_ID].isin(unknown) & logged[C.RESIDENT].isin(sizes.index)]
    skipped = int(logged[REQUEST_ID].nunique() - usable[REQUEST_ID].nunique())
    if usable.empty:
        raise OffPolicyError(f"no logged list can be evaluated: {skipped} list(s) have an unknown propensity or a "
                             "resident without a target list")
    matched = usable.merge(lists[[C.RESIDENT, C.SERVICE]], on=[C.RESIDENT, C.SERVICE])
    weight = 1.0 / matched[PROPENSITY].to_numpy()
    clicks = matched[CLICKED].astype(bool).to_numpy()
    capped = np.minimum(weight, clip) if clip is not None else weight
    parts = pd.DataFrame({REQUEST_ID: matched[REQUEST_ID].to_numpy(), "v": clicks * weight, "w": weight,
                          "c": clicks * capped})
    per_list = (usable[[REQUEST_ID, C.RESIDENT]].drop_duplicates(REQUEST_ID)
                .merge(parts.groupby(REQUEST_ID, sort=False).sum(), on=REQUEST_ID, how="left").fillna(0.0))
    per_list = per_list.merge(sizes, left_on=C.RESIDENT, right_index=True)
    for name in ("v", "w", "c"):
        per_list[name] = per_list[name] / per_list["k"]
    per_resident = per_list.groupby(C.RESIDENT).agg(v=("v", "sum"), w=("w", "sum"), c=("c", "sum"),
                                                    n=(REQUEST_ID, "size"))
    shown = usable.drop_duplicates([C.RESIDENT, C.SERVICE])[[C.RESIDENT, C.SERVICE]].assign(shown=True)
    evaluated = lists[lists[C.RESIDENT].isin(per_resident.index)].merge(shown, on=[C.RESIDENT, C.SERVICE],
                                                                        how="left")
    w = per_list["w"].to_numpy()
    return OffPolicyEstimate(
        ips=_value("ips", ratio_ci(per_resident["v"], per_resident["n"], confidence)),
        clipped=_value("clipped_ips", ratio_ci(per_resident["c"], per_resident["n"], confidence)),
        snips=_value("snips", ratio_ci(per_resident["v"], per_resident["w"], confidence)),
        clip=clip, confidence=confidence, lists=len(per_list), residents=len(per_resident),
        k=float(sizes[per_resident.index].mean()), support=float(evaluated["shown"].fillna(False).astype(bool).mean()),
        matched=len(matched), skipped_lists=skipped,
        target_residents_unlogged=int(len(sizes) - len(per_resident)),
        effective_lists=float(w.sum() ** 2 / (w**2).sum()) if (w > 0).any() else 0.0,
    )


def _target_lists(target: pd.DataFrame, k: int | None) -> pd.DataFrame:
    lists = target.assign(**{C.RESIDENT: target[C.RESIDENT].astype("string"),
                             C.SERVICE: target[C.SERVICE].astype("string")})
    if k is not None:
        if k < 1:
            raise OffPolicyError(f"k must be at least 1, got {k}")
        if "rank" in lists.columns:
            lists = lists.sort_values([C.RESIDENT, "rank"], kind="stable")
        lists = lists.groupby(C.RESIDENT, sort=False).head(k)
    lists = lists.drop_duplicates([C.RESIDENT, C.SERVICE]).reset_index(drop=True)
    if lists.empty:
        raise OffPolicyError("the target policy has no lists")
    return lists


def _value(method: str, estimate: RatioEstimate) -> PolicyValue:
    return PolicyValue(method, estimate.value, estimate.se, estimate.low, estimate.high)
