"""Adoption of a service among residents of the same residency status: the prior for a service not yet used.

Some services are meant for one group of residents, and each member takes them up once: a floating resident
(流动人口) registers and applies for a residence permit once, a registered newcomer does neither. For such a
service the resident's own history says nothing until they have used it, and overall popularity hides it: it
is counted once per adopter, and among everyone, most of whom are not its group. What predicts that a
resident will take it up next is how far residents *like them* have already taken it up, and how many of those
who had not yet taken it up did so lately.

Cross family ``segment_<stat>`` (segments: floating, registered, status unknown; a consumer books, uses or
rates the service, :data:`features.repeat_features.CONSUMING`):

* ``reach``: share of the resident's segment who consumed the service before the cut-off;
* ``lift``: that share over the share among all residents (1 = as common in the segment as overall; NaN where
  nobody consumed it);
* ``adoption``: among the segment's residents who had not consumed it by :data:`ADOPTION_DAYS` days before the
  cut-off, the share who first consumed it in those days — the segment's recent take-up rate, the chance that
  a resident who has not used it yet does so in the next weeks;
* ``category_lift``: the resident's share of their history in the service's category (``share_<category>``)
  over the mean share of the segment's residents with a history: how unusual their interest in it is among
  residents like them. A floating resident's history is mostly permits and registrations every floating
  resident takes up; one visit to a health talk says more about them than the same visit by a pensioner.

Segment sizes count the residents the pipeline was fitted on (a cold-start resident scored later belongs to
their segment but does not change it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from features.columns import Vocab
from features.feature_registry import register
from features.repeat_features import first_occasion

if TYPE_CHECKING:
    from features.cross_features import CrossContext

#: Days before the cut-off over which ``segment_adoption`` counts first uses.
ADOPTION_DAYS = 28
#: Segments by ``is_floating``: 0 registered, 1 floating, 2 unknown.
SEGMENTS = ("registered", "floating", "unknown")
_STATS = ("reach", "lift", "adoption", "category_lift")
_SHARES = [f"share_{c}" for c in Vocab.SERVICE_CATEGORIES]
_NS_PER_DAY = 86_400_000_000_000


def segment_of(is_floating: np.ndarray) -> np.ndarray:
    """Segment index (:data:`SEGMENTS`) of each resident from their ``is_floating`` feature (1, 0 or NaN)."""
    return np.where(np.isnan(is_floating), 2, np.where(is_floating == 1, 1, 0)).astype(np.int64)


def category_lift(segment: np.ndarray, shares: np.ndarray, fitted: int, category: np.ndarray,
                  resident_rows: np.ndarray) -> np.ndarray:
    """Per pair, the resident's share in the service's ``category`` over their segment's mean share.

    ``shares`` is ``(residents, categories)``; the means are over the first ``fitted`` rows with a history
    (shares summing above 0). NaN where the category is outside the vocabulary (-1) or the mean is 0.
    """
    n_segments = len(SEGMENTS)
    active = shares[:fitted].sum(axis=1) > 0
    seg = segment[:fitted][active]
    totals = np.zeros((n_segments, shares.shape[1]))
    np.add.at(totals, seg, shares[:fitted][active])
    counts = np.bincount(seg, minlength=n_segments).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts[:, None] > 0, totals / counts[:, None], np.nan)
        cat = np.maximum(category, 0)
        base = mean[segment[resident_rows], cat]
        lift = np.where(base > 0, shares[resident_rows, cat] / base, np.nan)
    return np.where(category >= 0, lift, np.nan)


def segment_stats(segment: np.ndarray, pairs: np.ndarray, first_day: np.ndarray, n_services: int,
                  cutoff_day: int, adoption_days: int = ADOPTION_DAYS) -> np.ndarray:
    """``(segments, services, 3)`` reach, lift and adoption (see the module docstring).

    Parameters
    ----------
    segment : ndarray of int
        Segment of every fitted resident (position = resident row).
    pairs, first_day : ndarray of int
        Consumed pairs (``resident * n_services + service``) of the fitted residents before the cut-off and
        the day each was first consumed (:func:`features.repeat_features.first_occasion`).
    cutoff_day : int
        The cut-off in days since the epoch.
    """
    n_segments = len(SEGMENTS)
    size = np.bincount(segment, minlength=n_segments).astype(np.float64)
    cell = segment[pairs // n_services] * n_services + pairs % n_services
    adopters = np.bincount(cell, minlength=n_segments * n_services).reshape(n_segments, n_services)
    recent = first_day >= cutoff_day - adoption_days
    new = np.bincount(cell[recent], minlength=n_segments * n_services).reshape(n_segments, n_services)
    with np.errstate(invalid="ignore", divide="ignore"):
        reach = np.where(size[:, None] > 0, adopters / size[:, None], np.nan)
        overall = adopters.sum(axis=0) / max(size.sum(), 1.0)
        lift = np.where(overall[None, :] > 0, reach / overall[None, :], np.nan)
        at_risk = size[:, None] - (adopters - new)
        adoption = np.where(at_risk > 0, new / at_risk, np.nan)
    return np.stack([reach, lift, adoption], axis=2)


@register("segment_<stat>", "cross",
          "Take-up of the service among residents of the resident's residency status (floating / registered / "
          "unknown) before the cut-off: reach (share who consumed it), lift (reach over the share among everyone; "
          f"NaN if nobody did), adoption (share of those who had not by {ADOPTION_DAYS} days before the cut-off who "
          "first did since), category_lift (the resident's share of history in the service's category over the "
          "segment's mean share; NaN for a category outside the vocabulary).", members=_STATS,
          requires=("is_floating", "share_<category>"))
def _segment(ctx: CrossContext) -> np.ndarray:
    tables = ctx.tables
    floating = ctx.residents["is_floating"].to_numpy(dtype=np.float64)
    segment = segment_of(floating)
    fitted = tables.n_residents
    pairs, first_day = first_occasion(tables.occasion_keys)
    stats = segment_stats(segment[:fitted], pairs, first_day, tables.n_services, int(ctx.cutoff.value // _NS_PER_DAY))
    shares = ctx.residents[_SHARES].to_numpy(dtype=np.float64)
    lift = category_lift(segment, shares, fitted, tables.category[ctx.service_rows], ctx.resident_rows)
    return np.column_stack([stats[segment[ctx.resident_rows], ctx.service_rows], lift])


__all__ = ["ADOPTION_DAYS", "SEGMENTS", "category_lift", "segment_of", "segment_stats"]
