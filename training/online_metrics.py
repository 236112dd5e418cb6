"""Online metrics: what residents did with the lists a model version served, from the feedback store's tables.

Definitions (one home for them; the monitor, the A/B report, ``GET /models`` and the promotion gate all use these):

- **impression** — one served item: a row of ``FeedbackStore.served()`` (a service in a served list). The
  ``impression`` *event* residents may send is not needed and not counted; a list served empty has no impression.
  A service repeated in one list counts once (its first position).
- **clicked** — the impression's ``(request_id, service_id)`` has any ``click``, ``book``, ``use`` or ``rate``
  event (a ``view`` is not a click). **booked** — any ``book`` or ``use``. **used** — any ``use``.
- **ctr**, **booking_rate**, **use_rate** — clicked / booked / used impressions over impressions.
- **mean_rating** — mean of every ``rate`` event's rating on the group's impressions (``ratings`` counts them).
- **coverage** — distinct services shown over ``catalogue_size`` (default: the distinct services shown by any
  group in the input, so coverage compares groups with each other).
- Feedback is attributed to the list it names, whenever it arrives; the time window filters on ``served_at``.
  Events naming a service that was not in that list are ignored.
- **persona** — with ``personas``, every group is split into ``"all"`` and one row per persona; a resident with
  several tags counts in each of their personas, a resident without a tag only in ``"all"``.

Lists of one resident are correlated, so confidence intervals treat the **resident** as the unit: a metric is a
ratio of per-resident sums (:func:`resident_units`) and its standard error is the cluster-robust (delta-method)
one of :func:`ratio_ci`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.feedback_columns import (  # noqa: F401  (re-exported: training's modules import them from here)
    MODEL_VERSION,
    POSITION,
    PROPENSITY,
    REQUEST_ID,
    SERVED_AT,
    VARIANT,
)
from features.local_time import TIMEZONE

PERSONA: Final = "persona"
ALL: Final = "all"
CLICKED, BOOKED, USED = "clicked", "booked", "used"
RATING_SUM: Final = "rating_sum"

CLICK_EVENTS: Final = frozenset({"click", "book", "use", "rate"})
BOOK_EVENTS: Final = frozenset({"book", "use"})
USE_EVENTS: Final = frozenset({"use"})
#: Ratio metrics: name → (numerator, denominator) columns of :func:`resident_units`.
RATIOS: Final = {"ctr": ("clicks", "impressions"), "booking_rate": ("bookings", "impressions"),
                 "use_rate": ("uses", "impressions"), "mean_rating": (RATING_SUM, "ratings")}
COUNTS: Final = ("lists", "impressions", "residents", "clicks", "bookings", "uses", "ratings", "services")

_SERVED_NEEDS: Final = (REQUEST_ID, C.RESIDENT, MODEL_VERSION, VARIANT, SERVED_AT, C.SERVICE)
_EVENTS_NEEDS: Final = (REQUEST_ID, C.SERVICE, C.EVENT, C.RATING)


class OnlineMetricsError(ValueError):
    """Input frames that cannot give online metrics (a missing column, an unknown grouping)."""


def require_columns(frame: pd.DataFrame, needed: Sequence[str], name: str,
                    error: type[OnlineMetricsError] = OnlineMetricsError) -> None:
    """Raise ``error`` naming every column of ``needed`` that ``frame`` (called ``name``) lacks."""
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise error(f"{name} lacks column(s) {', '.join(missing)}; "
                    f"it has {', '.join(map(str, frame.columns)) or 'no columns'}")


def local_time(moment: datetime | str | pd.Timestamp) -> pd.Timestamp:
    """``moment`` as a naive Asia/Shanghai timestamp, as the store keeps times (aware values are converted)."""
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(TIMEZONE).tz_localize(None)
    return stamp


def label_impressions(served: pd.DataFrame, events: pd.DataFrame, *, since: datetime | str | None = None,
                      until: datetime | str | None = None) -> pd.DataFrame:
    """One row per impression (served item) with what the resident did with it.

    Parameters
    ----------
    served : pandas.DataFrame
        ``FeedbackStore.served()``: request_id, resident_id, model_version, variant, served_at, service_id
        (position, score and propensity are kept when present).
    events : pandas.DataFrame
        ``FeedbackStore.events()``: at least request_id, service_id, event, rating.
    since, until : datetime or str, optional
        Keep impressions served in ``[since, until)`` (naive Asia/Shanghai local time).

    Returns
    -------
    pandas.DataFrame
        The served columns plus boolean ``clicked``, ``booked``, ``used``, ``ratings`` (count of rate events)
        and ``rating_sum``.
    """
    require_columns(served, _SERVED_NEEDS, "served")
    require_columns(events, _EVENTS_NEEDS, "events")
    frame = served
    if since is not None:
        frame = frame[frame[SERVED_AT] >= local_time(since)]
    if until is not None:
        frame = frame[frame[SERVED_AT] < local_time(until)]
    frame = frame.drop_duplicates([REQUEST_ID, C.SERVICE]).reset_index(drop=True)
    kinds = events[C.EVENT].astype("string")
    rated = events[C.RATING].where(kinds == "rate")
    flags = pd.DataFrame({
        REQUEST_ID: events[REQUEST_ID].astype("string"), C.SERVICE: events[C.SERVICE].astype("string"),
        CLICKED: kinds.isin(CLICK_EVENTS).fillna(False).astype(bool),
        BOOKED: kinds.isin(BOOK_EVENTS).fillna(False).astype(bool),
        USED: kinds.isin(USE_EVENTS).fillna(False).astype(bool),
        "ratings": rated.notna().astype("int64"), RATING_SUM: rated.fillna(0.0).astype("float64"),
    })
    per_item = flags.groupby([REQUEST_ID, C.SERVICE], sort=False).agg(
        {CLICKED: "any", BOOKED: "any", USED: "any", "ratings": "sum", RATING_SUM: "sum"})
    keys = pd.MultiIndex.from_arrays([frame[REQUEST_ID].astype("string"), frame[C.SERVICE].astype("string")])
    joined = per_item.reindex(keys)
    for name in (CLICKED, BOOKED, USED):
        frame[name] = joined[name].fillna(False).astype(bool).to_numpy()
    frame["ratings"] = joined["ratings"].fillna(0).astype("int64").to_numpy()
    frame[RATING_SUM] = joined[RATING_SUM].fillna(0.0).astype("float64").to_numpy()
    return frame


def persona_pairs(personas: pd.Series | pd.DataFrame) -> pd.DataFrame:
    """Resident → persona pairs (``resident_id``, ``persona``) from a Series or wide boolean tags.

    ``personas`` is either a Series indexed by resident id whose values are persona names (an id may repeat,
    one row per tag) or a wide boolean frame indexed by resident id with one column per persona, like
    ``ResidentProfile.personas.tags``.
    """
    if isinstance(personas, pd.DataFrame):
        long = personas.astype(bool).stack()
        long = long[long]
        pairs = pd.DataFrame({C.RESIDENT: long.index.get_level_values(0), PERSONA: long.index.get_level_values(1)})
    else:
        pairs = pd.DataFrame({C.RESIDENT: personas.index, PERSONA: personas.to_numpy()}).dropna()
    pairs = pairs.astype({C.RESIDENT: "string", PERSONA: "string"})
    return pairs.drop_duplicates().reset_index(drop=True)


def with_personas(labelled: pd.DataFrame, personas: pd.Series | pd.DataFrame | None) -> pd.DataFrame:
    """``labelled`` with a ``persona`` column: every row once as ``"all"``, plus once per persona of its resident."""
    everyone = labelled.assign(**{PERSONA: ALL})
    if personas is None:
        return everyone
    pairs = persona_pairs(personas)
    tagged = labelled.assign(**{C.RESIDENT: labelled[C.RESIDENT].astype("string")}).merge(pairs, on=C.RESIDENT)
    return pd.concat([everyone, tagged], ignore_index=True)


def resident_units(labelled: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per-resident sums within each group: the unit of every confidence interval.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, resident_id, lists, impressions, clicks, bookings, uses, ratings, rating_sum.
    """
    keys = [*by, C.RESIDENT]
    grouped = labelled.groupby(keys, sort=True, observed=True, dropna=False)
    units = grouped.agg(lists=(REQUEST_ID, "nunique"), impressions=(C.SERVICE, "size"), clicks=(CLICKED, "sum"),
                        bookings=(BOOKED, "sum"), uses=(USED, "sum"), ratings=("ratings", "sum"),
                        rating_sum=(RATING_SUM, "sum"))
    return units.reset_index()


@dataclass(frozen=True)
class RatioEstimate:
    """A ratio of sums over units with its cluster-robust standard error and confidence interval."""

    value: float
    se: float
    low: float
    high: float
    units: int


def json_ready(value: Any) -> Any:
    """``value`` (nested dicts, lists, numbers) with NaN as ``None`` and numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def z_value(confidence: float) -> float:
    """Two-sided normal quantile for ``confidence`` (0.95 → 1.96)."""
    if not 0 < confidence < 1:
        raise OnlineMetricsError(f"confidence must be between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def ratio_ci(numerator: np.ndarray | pd.Series, denominator: np.ndarray | pd.Series,
             confidence: float = 0.95) -> RatioEstimate:
    """``Σ numerator / Σ denominator`` over units, with the delta-method (cluster-robust) interval.

    ``se² = n/(n−1) · Σ (yᵢ − R·xᵢ)² / (Σ xᵢ)²`` over the n units. NaN when the denominator sums to 0;
    the interval is NaN with fewer than two units.
    """
    y = np.asarray(numerator, dtype="float64")
    x = np.asarray(denominator, dtype="float64")
    n, total = len(x), float(x.sum())
    if n == 0 or total <= 0:
        return RatioEstimate(math.nan, math.nan, math.nan, math.nan, n)
    ratio = float(y.sum()) / total
    if n < 2:
        return RatioEstimate(ratio, math.nan, math.nan, math.nan, n)
    se = math.sqrt(n / (n - 1) * float(((y - ratio * x) ** 2).sum())) / total
    half = z_value(confidence) * se
    return RatioEstimate(ratio, se, ratio - half, ratio + half, n)


def online_metrics(served: pd.DataFrame, events: pd.DataFrame, *, by: Sequence[str] = (MODEL_VERSION, VARIANT),
                   personas: pd.Series | pd.DataFrame | None = None, since: datetime | str | None = None,
                   until: datetime | str | None = None, catalogue_size: int | None = None,
                   confidence: float | None = None) -> pd.DataFrame:
    """Online metrics per group (by default per model version and variant), optionally per persona.

    Parameters
    ----------
    served, events : pandas.DataFrame
        ``FeedbackStore.served()`` and ``FeedbackStore.events()`` (see :func:`label_impressions`).
    by : sequence of str, default ("model_version", "variant")
        Columns of ``served`` to group by; ``()`` gives one overall row.
    personas : pandas.Series or pandas.DataFrame, optional
        Resident → persona (see :func:`persona_pairs`); adds a ``persona`` level with ``"all"`` and one row
        per persona (a resident with several tags counts in each).
    since, until : datetime or str, optional
        Window on ``served_at``: ``[since, until)``.
    catalogue_size : int, optional
        Services in the catalogue, the denominator of ``coverage``.
    confidence : float, optional
        When given (e.g. 0.95), add ``<metric>_low`` / ``<metric>_high`` columns: resident-clustered intervals.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``by`` (+ ``persona``), lists, impressions, residents, clicks, bookings, uses,
        ratings, services, ctr, booking_rate, use_rate, mean_rating, coverage (NaN where undefined).
    """
    by = list(by)
    unknown = [c for c in by if c not in served.columns]
    if unknown:
        raise OnlineMetricsError(f"cannot group by {', '.join(unknown)}: not a column of served")
    if catalogue_size is not None and catalogue_size < 1:
        raise OnlineMetricsError(f"catalogue_size must be positive, got {catalogue_size}")
    labelled = label_impressions(served, events, since=since, until=until)
    catalogue = catalogue_size or max(int(served[C.SERVICE].nunique()), 1)
    keys = [*by, PERSONA] if personas is not None else by
    labelled = with_personas(labelled, personas)
    columns = [*keys, *COUNTS, *RATIOS, "coverage"]
    if confidence is not None:
        columns += [f"{m}_{end}" for m in RATIOS for end in ("low", "high")]
    if labelled.empty:
        return pd.DataFrame(columns=columns)
    grouping = keys or [PERSONA]  # one overall group when by is empty and there are no personas
    units = resident_units(labelled, grouping)
    rows = []
    for key, group in units.groupby(grouping, sort=True, observed=True, dropna=False):
        values = dict(zip(grouping, key if isinstance(key, tuple) else (key,), strict=True))
        if not keys:
            values = {}
        sums = {c: int(group[c].sum()) for c in ("lists", "impressions", "clicks", "bookings", "uses", "ratings")}
        row = {**values, **sums, "residents": len(group)}
        for metric, (num, den) in RATIOS.items():
            estimate = ratio_ci(group[num], group[den], confidence or 0.95)
            row[metric] = estimate.value
            if confidence is not None:
                row[f"{metric}_low"], row[f"{metric}_high"] = estimate.low, estimate.high
        rows.append(row)
    out = pd.DataFrame(rows)
    shown = labelled.groupby(grouping, sort=True, observed=True, dropna=False)[C.SERVICE].nunique()
    out["services"] = shown.to_numpy().astype("int64")
    out["coverage"] = out["services"] / catalogue
    return out[columns].reset_index(drop=True)
