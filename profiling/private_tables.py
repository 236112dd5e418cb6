"""The planner tables under differential privacy: noise on community counts, consistent roll-ups.

Used by :func:`profiling.reports.build_reports` when a :class:`privacy.dp.PlannerDp` is given. Each table's
counts are built over *every* community of the dataset (a public list, so a table's rows reveal no resident) and
get Laplace noise once, at that finest level. Post-processing then makes them non-negative integers that add up:
a district's count is the sum of its noisy communities (at least 0), its streets are the closest non-negative
integers to their noisy sums that add up to it (:func:`privacy.dp.project_to_totals`), and each street's
communities likewise; streets and districts are then the sums of their communities. Projecting top-down instead of
clipping each community at 0 and summing keeps parents unbiased: clipping adds ~b/2 to every community whose true
count is 0, and summing would carry that bias up n-fold. The small-cell suppression of the exact tables then runs on the
noisy counts; it is post-processing (it costs no privacy, and adds none), kept so that cells that are mostly
noise read as ``"<k"`` as they did before.

The L1 sensitivity of each table, for one resident added or removed (P personas, C categories, M months):

- ``segments``: ``P + 1`` (each persona tag once, one segment). ``residents`` is the sum of the noisy segment
  counts, not a separate query; shares are noisy persona / noisy residents (capped at 1).
- ``usage``: ``4 × C × (P + 1)``: users, raters, demand and unmet (each 0 or 1 per resident and category), for
  ``"all"`` and each persona. ``uses`` (events, unbounded per resident) and ``mean_rating`` are not released.
  A unit's size (hidden-whole rule) is its noisy ``residents``. Top categories rank by noisy users.
- ``monthly``: ``M × (P + 1)`` over the full grid of communities and calendar months from the first to the last
  month of the counted data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.columns import Columns, Vocab
from features.dataset import Dataset
from privacy.dp import PlannerDp, project_to_totals, roll_up
from profiling.config import ReportConfig
from profiling.demand import ALL, USAGE_COUNTS, _per_resident_category, suppress_monthly, suppress_usage

_GEO = (Columns.COMMUNITY, Columns.STREET, Columns.DISTRICT)
_PARENT = {Columns.COMMUNITY: Columns.STREET, Columns.STREET: Columns.DISTRICT, Columns.DISTRICT: None}


@dataclass(frozen=True)
class PrivateTables:
    """What :func:`private_tables` gives back to the report builder.

    Attributes
    ----------
    sums : dict
        Per level, the noisy segment-report counts indexed by ``(unit[, parent])``.
    tops : dict
        Per level, the top categories of each unit (by noisy users).
    usage, monthly : pandas.DataFrame
        The planner page's long tables, noisy and suppressed.
    privacy : dict
        The release's description (:meth:`privacy.dp.PlannerDp.describe`) plus ``segment_totals``.
    """

    sums: dict[str, pd.DataFrame]
    tops: dict[str, pd.Series]
    usage: pd.DataFrame
    monthly: pd.DataFrame
    privacy: dict[str, Any]


def geography(dataset: Dataset) -> pd.DataFrame:
    """Every community of the dataset with its street and district, sorted by community id."""
    geo = dataset.communities[list(_GEO)].drop_duplicates(Columns.COMMUNITY).astype(str)
    return geo.sort_values(Columns.COMMUNITY, ignore_index=True)


def private_tables(
    dataset: Dataset,
    tags: pd.DataFrame,
    residents: pd.DataFrame,
    counts: pd.DataFrame,
    cfg: ReportConfig,
    dp: PlannerDp,
) -> PrivateTables:
    """Noisy segment counts, usage and monthly tables of one data version (see the module docstring)."""
    geo = geography(dataset)
    n_personas = tags.shape[1]
    position = pd.Index(geo[Columns.COMMUNITY]).get_indexer(residents[Columns.COMMUNITY].astype(str).to_numpy())
    base = counts.groupby(position).sum().reindex(range(len(geo)), fill_value=0)
    segment_cols = [c for c in base.columns if c.startswith("segment_")]
    noised = [c for c in base.columns if c != "residents"] if segment_cols else list(base.columns)
    sensitivities = {"segments": float(n_personas + 1)}
    base[noised] = _consistent(dp, "segments", base[noised].to_numpy(), sensitivities["segments"], geo)
    if segment_cols:
        base["residents"] = base[segment_cols].sum(axis=1)
    base.index = pd.MultiIndex.from_frame(geo)
    sums = {}
    for unit, parent in _PARENT.items():
        keys = [unit] if parent is None else [unit, parent]
        sums[unit] = base.groupby(level=keys).sum()
    sizes = {unit: sums[unit]["residents"].groupby(level=0).sum() for unit in _PARENT}
    usage, sensitivities["usage"] = _usage(dataset, tags, residents, geo, sizes, cfg.k, dp)
    monthly, sensitivities["monthly"] = _monthly(dataset, tags, position, geo, cfg.k, dp)
    tops = {unit: _tops(usage, unit, cfg) for unit in _PARENT}
    privacy = dp.describe(sensitivities)
    privacy["segment_totals"] = {c.removeprefix("segment_"): int(base[c].sum()) for c in segment_cols}
    return PrivateTables(sums, tops, usage, monthly, privacy)


def _consistent(dp: PlannerDp, table: str, values: np.ndarray, sensitivity: float, geo: pd.DataFrame) -> np.ndarray:
    """Noisy community counts, non-negative integers whose streets and districts are projected top-down.

    Each district's count is its noisy communities' sum (rounded, at least 0); its streets are the closest
    non-negative integers to their noisy sums that add up to it, and each street's communities likewise.
    """
    noisy = np.asarray(values, dtype=np.float64) + dp.noise(table, values.shape, sensitivity)
    out = np.zeros(noisy.shape, dtype=np.int64)
    streets, districts = geo[Columns.STREET].to_numpy(dtype=object), geo[Columns.DISTRICT].to_numpy(dtype=object)
    for district in pd.unique(districts):
        inside = districts == district
        total = np.maximum(np.rint(noisy[inside].sum(axis=0)), 0.0)
        street_ids, street_sums = roll_up(noisy[inside], streets[inside])
        street_counts = project_to_totals(street_sums, total)
        for s, street in enumerate(street_ids):
            rows = np.flatnonzero(inside & (streets.astype(str) == street))
            out[rows] = project_to_totals(noisy[rows], street_counts[s])
    return out


def _levels(
    geo: pd.DataFrame, values: np.ndarray
) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray, dict[str, str]]]:
    """Each level's name, unit ids, parent ids, summed rows and parent map (streets and districts rolled up)."""
    for unit, parent in _PARENT.items():
        ids, summed = roll_up(values, geo[unit].to_numpy())
        parent_of = dict(zip(geo[unit], geo[parent], strict=True)) if parent else {}
        yield unit, ids, np.array([parent_of.get(u, "") for u in ids], dtype=object), summed, parent_of


def _usage(
    dataset: Dataset,
    tags: pd.DataFrame,
    residents: pd.DataFrame,
    geo: pd.DataFrame,
    sizes: dict[str, pd.Series],
    k: int,
    dp: PlannerDp,
) -> tuple[pd.DataFrame, float]:
    per = _per_resident_category(dataset, tags, residents)
    categories = list(Vocab.SERVICE_CATEGORIES)
    measures = list(USAGE_COUNTS)
    groups = [ALL, *map(str, tags.columns)]
    member = np.hstack([np.ones((len(tags), 1), dtype=bool), tags.to_numpy(dtype=bool)])
    home = pd.Index(geo[Columns.COMMUNITY]).get_indexer(residents[Columns.COMMUNITY].astype(str).to_numpy())
    rows = per["row"].to_numpy()
    cat = pd.Index(categories).get_indexer(per[Columns.CATEGORY].to_numpy(dtype=object))
    cube = np.zeros((len(geo), len(groups), len(categories), len(measures)), dtype=np.int64)
    signal = per[["used", "rated", "demand", "unmet"]].to_numpy(dtype=np.int64)
    keep = (home[rows] >= 0) & (cat >= 0)
    for g in range(len(groups)):
        sel = keep & member[rows, g]
        for m in range(len(measures)):
            np.add.at(cube, (home[rows[sel]], g, cat[sel], m), signal[sel, m])
    sensitivity = float(len(measures) * len(categories) * len(groups))
    noisy = _consistent(dp, "usage", cube.reshape(len(geo), -1), sensitivity, geo)
    frames = []
    for unit, ids, parents, summed, _ in _levels(geo, noisy):
        shaped = summed.reshape(len(ids), len(groups), len(categories), len(measures))
        index = pd.MultiIndex.from_product([ids, categories], names=["unit", Columns.CATEGORY])
        blocks = []
        for g in range(len(groups)):
            block = pd.DataFrame(shaped[:, g].reshape(-1, len(measures)), columns=measures, index=index)
            blocks.append(block.assign(uses=0, rating_sum=0.0, rating_n=0))
        size = sizes[unit].reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
        frames.append(suppress_usage(blocks, groups, ids, size, parents, unit, k, withheld=("uses", "mean_rating")))
    return pd.concat(frames, ignore_index=True), sensitivity


def _monthly(
    dataset: Dataset, tags: pd.DataFrame, position: np.ndarray, geo: pd.DataFrame, k: int, dp: PlannerDp
) -> tuple[pd.DataFrame, float]:
    events = dataset.interactions
    rows = tags.index.get_indexer(events[Columns.RESIDENT].to_numpy(dtype=object))
    known = rows >= 0
    stamps = pd.to_datetime(events[Columns.TIMESTAMP])[known]
    columns = ["active", *[f"persona_{p}" for p in tags.columns]]
    if len(stamps):
        months = pd.period_range(stamps.min(), stamps.max(), freq="M").strftime("%Y-%m").to_numpy(dtype=object)
    else:
        months = np.array([], dtype=object)
    active = pd.DataFrame({"row": rows[known], "month": stamps.dt.strftime("%Y-%m").to_numpy(dtype=object)})
    active = active.drop_duplicates()
    home = position[active["row"].to_numpy()]
    month = pd.Index(months).get_indexer(active["month"].to_numpy())
    member = np.hstack(
        [np.ones((len(active), 1), dtype=np.int64), tags.to_numpy(dtype=np.int64)[active["row"].to_numpy()]]
    )
    cube = np.zeros((len(geo), len(months), len(columns)), dtype=np.int64)
    sel = home >= 0
    for j in range(len(columns)):
        np.add.at(cube, (home[sel], month[sel], j), member[sel, j])
    sensitivity = float(max(len(months), 1) * len(columns))
    noisy = _consistent(dp, "monthly", cube.reshape(len(geo), -1), sensitivity, geo)
    frames = []
    for unit, ids, _, summed, parent_of in _levels(geo, noisy):
        values = summed.reshape(len(ids) * len(months), len(columns))
        frames.append(
            suppress_monthly(
                np.repeat(ids, len(months)), np.tile(months, len(ids)), values, columns, parent_of, unit, k
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(
        ["level", "unit_id", "month"], ignore_index=True
    ), sensitivity


def _tops(usage: pd.DataFrame, unit: str, cfg: ReportConfig) -> pd.Series:
    """The categories with at least k noisy users, most users first (ties in category order)."""
    rows = usage[(usage["level"] == unit.removesuffix("_id")) & (usage["persona"] == ALL)]
    rows = rows[rows["users"].notna()]
    rows = rows[rows["users"].astype(np.int64) >= cfg.k]
    order = {c: i for i, c in enumerate(sorted(Vocab.SERVICE_CATEGORIES))}
    rows = rows.assign(_users=rows["users"].astype(np.int64), _tie=rows["category"].map(order))
    rows = rows.sort_values(["unit_id", "_users", "_tie"], ascending=[True, False, True])
    return rows.groupby("unit_id")["category"].agg(lambda s: list(s.iloc[: cfg.top_categories]))
