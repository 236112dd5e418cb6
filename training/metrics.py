"""Offline metrics of recommendation tables: ranking accuracy, coverage, novelty, category diversity, per persona
and cold start.

Inputs are a *recommendation table* (``resident_id, service_id, rank``; rank 1 is best, other columns
ignored) and a *relevance frame* (``resident_id, service_id, relevance``; see :mod:`training.relevance`).

Conventions (those of Microsoft Recommenders' ``python_evaluation``, so MovieLens results compare with
published numbers):

* A service is relevant when its relevance is > 0. Binary gain by default; ``graded=True`` uses the
  relevance itself as the gain of NDCG (as ``sklearn.metrics.ndcg_score`` and Recommenders' ``"raw"``).
* Only the first ``k`` rows of each resident's list (ordered by ``rank``; equal ranks keep input order)
  count. A shorter list is not padded: precision still divides by ``k``.
* Averages run over the residents with at least one relevant service in the truth. With
  ``residents="truth"`` (default) a resident without a recommendation list scores 0; with
  ``residents="common"`` only residents with a list are averaged, as Recommenders does.
* NDCG@k = DCG / ideal DCG, discount ``1 / log2(1 + position)``; the ideal list holds the
  ``min(n_relevant, k)`` best relevant services.
* precision@k = hits / k; recall@k = hits / n_relevant (so it can stay below 1 when n_relevant > k).
* MAP: the sum, over hits at positions p ≤ k, of the precision at p, divided by ``min(n_relevant, k)`` in
  :func:`map_at_k` (Recommenders' and Spark's ``map_at_k``) or by ``n_relevant`` in
  :func:`mean_average_precision` (Recommenders' ``map``, which the benchmark tables until 2026 report
  as "MAP").
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features.columns import Columns as C
from recommenders.base import RANK
from training.relevance import RELEVANCE

Residents = Literal["truth", "common"]
NDCG, AP, AP_RELEVANT, PRECISION, RECALL, HITS, N_RELEVANT = (
    "ndcg", "ap", "ap_relevant", "precision", "recall", "hits", "n_relevant")


class MetricInputError(ValueError):
    """A recommendation table or relevance frame cannot be evaluated as given."""


@dataclass(frozen=True)
class _TopK:
    """The first k rows of every list, grouped by resident and ordered by position."""

    resident: np.ndarray  # codes into resident_ids
    resident_ids: np.ndarray
    service: np.ndarray  # codes into service_ids
    service_ids: np.ndarray
    position: np.ndarray  # 1-based


def per_resident_metrics(recommendations: pd.DataFrame, truth: pd.DataFrame, k: int = 10, *,
                         graded: bool = False, residents: Residents = "truth") -> pd.DataFrame:
    """Every ranking metric for every evaluated resident (the scalar metrics are means of its columns).

    Parameters
    ----------
    recommendations : pandas.DataFrame
        ``resident_id, service_id, rank`` (rank 1 best; e.g. ``Recommender.recommend`` output).
    truth : pandas.DataFrame
        ``resident_id, service_id`` and optionally ``relevance`` (rows with relevance ≤ 0 or missing are
        not relevant; without the column every row is relevant, as in Recommenders). Duplicate pairs keep
        their highest relevance.
    k : int, default 10
        Cut-off: only the first ``k`` rows of each list count.
    graded : bool, default False
        Use the relevance as the NDCG gain instead of 1.
    residents : {"truth", "common"}, default "truth"
        Evaluate every resident with a relevant service (no list scores 0), or only those that also
        have a list (Recommenders' convention).

    Raises
    ------
    MetricInputError
        On missing columns, ids or ranks, ``k < 1``, a truth without relevant rows, or a relevant service
        listed twice for one resident.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``resident_id``; columns ``ndcg, ap, ap_relevant, precision, recall, hits, n_relevant``
        (``ap`` is normalised as in :func:`map_at_k`, ``ap_relevant`` as in :func:`mean_average_precision`).
    """
    return _per_resident(_top_k(recommendations, k), truth, k, graded, residents)


def ndcg_at_k(recommendations: pd.DataFrame, truth: pd.DataFrame, k: int = 10, *, graded: bool = False,
              residents: Residents = "truth") -> float:
    """Mean NDCG@k over residents with a relevant service (binary gain, or the relevance if ``graded``)."""
    return _mean(per_resident_metrics(recommendations, truth, k, graded=graded, residents=residents), NDCG)


def map_at_k(recommendations: pd.DataFrame, truth: pd.DataFrame, k: int = 10, *,
             residents: Residents = "truth") -> float:
    """MAP@k with average precision normalised by ``min(n_relevant, k)`` (Recommenders' ``map_at_k``)."""
    return _mean(per_resident_metrics(recommendations, truth, k, residents=residents), AP)


def mean_average_precision(recommendations: pd.DataFrame, truth: pd.DataFrame, k: int = 10, *,
                           residents: Residents = "truth") -> float:
    """MAP of the top-k lists normalised by all ``n_relevant`` (Recommenders' ``map``, its older "MAP")."""
    return _mean(per_resident_metrics(recommendations, truth, k, residents=residents), AP_RELEVANT)


def precision_at_k(recommendations: pd.DataFrame, truth: pd.DataFrame, k: int = 10, *,
                   residents: Residents = "truth") -> float:
    """Mean of hits / k."""
    return _mean(per_resident_metrics(recommendations, truth, k, residents=residents), PRECISION)


def recall_at_k(recommendations: pd.DataFrame, truth: pd.DataFrame, k: int = 10, *,
                residents: Residents = "truth") -> float:
    """Mean of hits / n_relevant."""
    return _mean(per_resident_metrics(recommendations, truth, k, residents=residents), RECALL)


def catalogue_coverage(recommendations: pd.DataFrame, n_services: int, k: int | None = None) -> float:
    """Share of the catalogue's ``n_services`` that appear in at least one list (first ``k`` rows if given)."""
    return _coverage(_top_k(recommendations, k), n_services)


def novelty(recommendations: pd.DataFrame, popularity: pd.Series, k: int | None = None) -> float:
    """Mean self-information ``−log2 p(service)`` of the recommended rows (first ``k`` of each list if given).

    ``p(service) = popularity / popularity.sum()`` with the training popularity (e.g.
    :func:`training.service_resident_counts`); a service with popularity 0 or absent counts as 1, so its
    self-information is finite and maximal.
    """
    return _novelty(_top_k(recommendations, k), popularity)


def category_diversity(recommendations: pd.DataFrame, categories: pd.Series, k: int | None = None) -> float:
    """Mean number of distinct service categories in each resident's first ``k`` recommendations.

    Parameters
    ----------
    recommendations : pandas.DataFrame
        A recommendation table.
    categories : pandas.Series
        Category of every service, indexed by service id.
    k : int, optional
        Only the first ``k`` rows of each list count (all rows when ``None``).

    Raises
    ------
    MetricInputError
        If the table is empty or names a service without a category.
    """
    return _category_diversity(_top_k(recommendations, k), categories)


def per_group_ndcg(recommendations: pd.DataFrame, truth: pd.DataFrame, groups: pd.DataFrame, k: int = 10,
                   *, graded: bool = False, residents: Residents = "truth") -> dict[str, float]:
    """Mean NDCG@k within each group (persona, segment, community...).

    Parameters
    ----------
    groups : pandas.DataFrame
        Either long — ``resident_id`` and one label column, one row per (resident, group), so a resident
        counts in each of their groups — or wide: boolean columns (one per group) indexed by resident id,
        like ``PersonaTags.tags``.

    Returns
    -------
    dict
        Group → mean NDCG@k of its evaluated residents; NaN for a group without any.
    """
    scores = per_resident_metrics(recommendations, truth, k, graded=graded, residents=residents)
    return _group_means(scores[NDCG], groups)


def cold_start_ndcg(recommendations: pd.DataFrame, truth: pd.DataFrame, cold_start: Collection[str],
                    k: int = 10, *, graded: bool = False, residents: Residents = "truth") -> float:
    """Mean NDCG@k of the evaluated residents in ``cold_start`` (NaN when none is evaluated)."""
    scores = per_resident_metrics(recommendations, truth, k, graded=graded, residents=residents)
    return _subset_mean(scores[NDCG], cold_start)


def evaluate(recommendations: pd.DataFrame, truth: pd.DataFrame, k: int = 10,
             popularity: pd.Series | None = None, n_services: int | None = None,
             groups: pd.DataFrame | None = None, cold_start: Collection[str] | None = None, *,
             graded: bool = False, residents: Residents = "truth", categories: pd.Series | None = None
             ) -> dict[str, float | dict[str, float]]:
    """All offline metrics of one recommendation table, computed in one pass.

    Returns
    -------
    dict
        ``ndcg@k, map@k, recall@k, precision@k`` always (``map@k`` is :func:`map_at_k`); ``coverage`` with
        ``n_services``; ``novelty`` with ``popularity``; ``per_persona_ndcg@k`` ({group: NDCG}) with
        ``groups``; ``cold_start_ndcg@k`` with ``cold_start``; ``category_diversity`` (mean distinct categories
        per list, :func:`category_diversity`) with ``categories``. Coverage, novelty and category diversity use
        the first ``k`` rows of every list in the table, including residents without truth.
    """
    top = _top_k(recommendations, k)
    scores = _per_resident(top, truth, k, graded, residents)
    result: dict[str, float | dict[str, float]] = {
        f"ndcg@{k}": _mean(scores, NDCG), f"map@{k}": _mean(scores, AP),
        f"recall@{k}": _mean(scores, RECALL), f"precision@{k}": _mean(scores, PRECISION)}
    if n_services is not None:
        result["coverage"] = _coverage(top, n_services)
    if popularity is not None:
        result["novelty"] = _novelty(top, popularity)
    if categories is not None:
        result["category_diversity"] = _category_diversity(top, categories)
    if groups is not None:
        result[f"per_persona_ndcg@{k}"] = _group_means(scores[NDCG], groups)
    if cold_start is not None:
        result[f"cold_start_ndcg@{k}"] = _subset_mean(scores[NDCG], cold_start)
    return result


# ----- internals -------------------------------------------------------------------------------------------
def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MetricInputError(f"{what} lack column(s) {missing}; expected {columns}")
    for column in columns[:2]:
        if frame[column].isna().any():
            raise MetricInputError(f"{what} have missing {column} values; drop those rows first")


def _run_position(sorted_codes: np.ndarray) -> np.ndarray:
    """0-based position of each element inside its run of equal values."""
    n = len(sorted_codes)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if n else np.zeros(0, np.int64)
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


def _top_k(recommendations: pd.DataFrame, k: int | None) -> _TopK:
    if k is not None and k < 1:
        raise MetricInputError(f"k must be ≥ 1, got {k}")
    _require(recommendations, [C.RESIDENT, C.SERVICE, RANK], "recommendations")
    rank = recommendations[RANK].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(rank).any():
        raise MetricInputError("recommendations have missing ranks; rank every row (1 = best)")
    resident, resident_ids = pd.factorize(recommendations[C.RESIDENT])
    service, service_ids = pd.factorize(recommendations[C.SERVICE])
    same = resident[1:] == resident[:-1]
    if np.all(resident[1:] >= resident[:-1]) and np.all(~same | (rank[1:] >= rank[:-1])):
        order = np.arange(len(resident))  # already grouped by resident and ordered by rank (top_k_frame)
    else:
        order = np.lexsort((rank, resident))  # stable: equal ranks keep the input order
    position = _run_position(resident[order]) + 1
    if k is not None:
        order, position = order[position <= k], position[position <= k]
    return _TopK(resident[order], np.asarray(resident_ids, dtype=object), service[order],
                 np.asarray(service_ids, dtype=object), position)


def _per_resident(top: _TopK, truth: pd.DataFrame, k: int, graded: bool, residents: Residents) -> pd.DataFrame:
    if residents not in ("truth", "common"):
        raise MetricInputError(f"residents must be 'truth' or 'common', got {residents!r}")
    _require(truth, [C.RESIDENT, C.SERVICE], "truth")
    rel = (truth[RELEVANCE].to_numpy(dtype=np.float64, na_value=0.0) if RELEVANCE in truth.columns
           else np.ones(len(truth)))
    positive = rel > 0
    if not positive.any():
        raise MetricInputError("truth has no relevant (relevance > 0) rows; nothing to evaluate")
    rows = slice(None) if positive.all() else np.flatnonzero(positive)
    t_res, t_res_ids = pd.factorize(truth[C.RESIDENT].iloc[rows])
    t_svc, t_svc_ids = pd.factorize(truth[C.SERVICE].iloc[rows])
    t_res_ids, t_svc_ids = np.asarray(t_res_ids, dtype=object), np.asarray(t_svc_ids, dtype=object)
    n_res, n_svc = len(t_res_ids), len(t_svc_ids)
    # unique (resident, service) truth pairs with their highest relevance
    key = t_res.astype(np.int64) * n_svc + t_svc
    order = np.argsort(key, kind="stable")
    key, rel = key[order], rel[positive][order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    key, rel = key[starts], np.maximum.reduceat(rel, starts)
    pair_res = key // n_svc
    n_relevant = np.bincount(pair_res, minlength=n_res)
    # recommendation rows of evaluated residents, mapped into the truth's codes
    r_res = pd.Index(t_res_ids).get_indexer(top.resident_ids)[top.resident]
    r_svc = pd.Index(t_svc_ids).get_indexer(top.service_ids)[top.service]
    mine = r_res >= 0
    r_res, r_svc, position = r_res[mine], r_svc[mine], top.position[mine]
    r_key = np.where(r_svc >= 0, r_res.astype(np.int64) * n_svc + r_svc, -1)
    at = np.minimum(np.searchsorted(key, r_key), len(key) - 1)
    hit = (r_svc >= 0) & (key[at] == r_key)
    _check_unique(r_key[hit], t_res_ids, n_svc)
    h_res, h_pos = r_res[hit], position[hit]
    gain = rel[at[hit]] if graded else np.ones(len(h_res))
    hits = np.bincount(h_res, minlength=n_res)
    dcg = np.bincount(h_res, weights=gain / np.log2(h_pos + 1.0), minlength=n_res)
    ideal = _ideal_dcg(pair_res, rel, n_relevant, k, graded)
    precision_at_hit = (_run_position(h_res) + 1) / h_pos  # hit rows are grouped by resident, in order
    ap_sum = np.bincount(h_res, weights=precision_at_hit, minlength=n_res)
    frame = pd.DataFrame({
        NDCG: dcg / ideal, AP: ap_sum / np.minimum(n_relevant, k), AP_RELEVANT: ap_sum / n_relevant,
        PRECISION: hits / k, RECALL: hits / n_relevant, HITS: hits, N_RELEVANT: n_relevant,
    }, index=pd.Index(t_res_ids, name=C.RESIDENT))
    if residents == "common":
        frame = frame[np.bincount(r_res, minlength=n_res) > 0]
    return frame


def _ideal_dcg(pair_res: np.ndarray, rel: np.ndarray, n_relevant: np.ndarray, k: int, graded: bool) -> np.ndarray:
    if not graded:
        cumulative = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))]
        return cumulative[np.minimum(n_relevant, k)]
    order = np.lexsort((-rel, pair_res))
    position = _run_position(pair_res[order]) + 1
    best = position <= k
    return np.bincount(pair_res[order][best], weights=rel[order][best] / np.log2(position[best] + 1.0),
                       minlength=len(n_relevant))


def _check_unique(hit_keys: np.ndarray, resident_ids: np.ndarray, n_services: int) -> None:
    """A relevant service listed twice for one resident would count twice: refuse it."""
    key = np.sort(hit_keys)
    duplicate = np.flatnonzero(key[1:] == key[:-1])
    if len(duplicate):
        who = resident_ids[key[duplicate[0]] // n_services]
        raise MetricInputError(f"{len(duplicate)} relevant service(s) appear twice in one list (e.g. resident "
                               f"{who!r}); recommend each service at most once per resident")


def _mean(scores: pd.DataFrame, column: str) -> float:
    if scores.empty:
        raise MetricInputError("no resident is both in the truth and in the recommendations; "
                               "recommend for the residents of the evaluation window")
    return float(scores[column].mean())


def _coverage(top: _TopK, n_services: int) -> float:
    if n_services < 1:
        raise MetricInputError(f"n_services must be ≥ 1, got {n_services}")
    shown = len(np.unique(top.service))
    if shown > n_services:
        raise MetricInputError(f"the lists name {shown} distinct services, more than n_services={n_services}")
    return shown / n_services


def _novelty(top: _TopK, popularity: pd.Series) -> float:
    total = float(popularity.sum())
    if not total > 0 or (popularity < 0).any():
        raise MetricInputError("popularity must be non-negative counts with a positive sum")
    if len(top.service) == 0:
        raise MetricInputError("the recommendation table is empty; novelty is undefined")
    counts = pd.Series(popularity.to_numpy(dtype=np.float64), index=pd.Index(popularity.index, dtype=object))
    known = counts.reindex(top.service_ids).fillna(0.0).clip(lower=1.0).to_numpy()
    return float(np.mean(-np.log2(known / total)[top.service]))


def _category_diversity(top: _TopK, categories: pd.Series) -> float:
    if len(top.service) == 0:
        raise MetricInputError("the recommendation table is empty; category diversity is undefined")
    named = pd.Series(categories.to_numpy(), index=pd.Index(categories.index.astype(str), dtype=object))
    per_service = named.reindex(top.service_ids.astype(str))
    missing = per_service.index[per_service.isna()]
    if len(missing):
        raise MetricInputError(f"no category for service(s) {list(missing[:5])}")
    codes = pd.factorize(per_service)[0][top.service]
    pairs = np.unique(top.resident.astype(np.int64) * (codes.max() + 1) + codes)
    return float(len(pairs) / len(np.unique(top.resident)))


def _group_means(scores: pd.Series, groups: pd.DataFrame) -> dict[str, float]:
    if C.RESIDENT in groups.columns:
        labels = [c for c in groups.columns if c != C.RESIDENT]
        if len(labels) != 1:
            raise MetricInputError(f"long groups need resident_id and one label column, got {list(groups.columns)}")
        members = groups[C.RESIDENT].to_numpy(dtype=object)
        label = groups[labels[0]]
        names = (list(label.cat.categories) if isinstance(label.dtype, pd.CategoricalDtype)
                 else sorted(pd.unique(label.dropna())))
        label = label.to_numpy(dtype=object)
    else:
        if not all(pd.api.types.is_bool_dtype(groups[c]) for c in groups.columns):
            raise MetricInputError("groups must be long (resident_id + label) or boolean columns indexed by resident")
        rows, cols = np.nonzero(groups.to_numpy(dtype=bool))
        members = np.asarray(groups.index, dtype=object)[rows]
        names = list(groups.columns)
        label = np.asarray(names, dtype=object)[cols]
    values = scores.reindex(pd.Index(members, dtype=object)).to_numpy()
    means = pd.Series(values).groupby(label).mean()
    return {str(name): float(means.get(name, np.nan)) for name in names}


def _subset_mean(scores: pd.Series, subset: Collection[str]) -> float:
    chosen = scores[scores.index.isin(pd.Index(np.asarray(list(subset), dtype=object)))]
    return float(chosen.mean()) if len(chosen) else float("nan")
