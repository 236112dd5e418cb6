"""The planner page's tables: service use, ratings and unmet demand per persona, and monthly activity.

Both are long tables over the three levels (``level``, ``unit_id``, ...), suppressed like the segment reports
(:mod:`profiling.reports`): every resident count below k reads as hidden, a unit below k residents is hidden
whole, and when exactly one unit of a parent has a cell hidden, its smallest sibling loses that cell too.

What the counts mean, in Linli's data (interactions carry no search log):

- **users**: residents who used a service of the category (``use`` events); **uses**: those events
  (hidden with ``users``).
- **raters** and **mean_rating**: residents who rated such a service (``rate`` events with a rating) and the
  mean of those ratings (hidden with ``raters``).
- **demand**: residents the platform recommended such a service to (``impression`` events: a served list
  shown) or who looked for one (``view`` and ``click`` events: opening and clicking a service page is the
  closest thing to a search that Linli records).
- **unmet**: residents with such demand for a service that is not offered in their community
  (``community_scope`` excludes it), or is offered only online while they prefer offline.
- **monthly**: residents active in a month (any event), in total and by persona (tags as of the cut-off;
  Linli has no record of moves, so activity is the month-over-month signal).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.columns import LIST_SEPARATOR, Columns, Vocab
from features.dataset import Dataset
from profiling.reports import LEVELS
from profiling.suppression import suppression_mask

#: Events that count as demand: recommended (impression) or looked for (view, click).
DEMAND_EVENTS: tuple[str, ...] = ("impression", "view", "click")
#: Resident counts of the usage table (suppressed below k) and the cells hidden with each.
USAGE_COUNTS: dict[str, tuple[str, ...]] = {"users": ("uses",), "raters": ("mean_rating",), "demand": (),
                                            "unmet": ()}
ALL = "all"


def usage_table(dataset: Dataset, tags: pd.DataFrame, units: pd.DataFrame, k: int) -> pd.DataFrame:
    """Use, rating, demand and unmet demand per unit, persona (and ``"all"``) and service category.

    Parameters
    ----------
    dataset : Dataset
        Residents, services and the interactions to count (cut at the profile's cut-off).
    tags : pandas.DataFrame
        Boolean resident × persona frame indexed by resident id.
    units : pandas.DataFrame
        Community, street and district id of every resident in ``tags`` (same index).
    k : int
        Suppression threshold.

    Returns
    -------
    pandas.DataFrame
        Columns ``level, unit_id, persona, category, users, uses, raters, mean_rating, demand, unmet,
        suppressed``; hidden cells are ``None`` and named in ``suppressed``.
    """
    per = _per_resident_category(dataset, tags, units)
    groups = [(ALL, np.ones(len(tags), dtype=bool))] + [(p, tags[p].to_numpy(dtype=bool)) for p in tags.columns]
    categories = list(Vocab.SERVICE_CATEGORIES)
    frames = []
    for level, _, parent in LEVELS:
        unit_ids = pd.unique(units[level].to_numpy(dtype=object))
        blocks, names = [], []
        for persona, member in groups:
            sub = per[member[per["row"].to_numpy()]]
            sub = sub.assign(unit=units[level].to_numpy(dtype=object)[sub["row"].to_numpy()])
            summed = sub.groupby(["unit", Columns.CATEGORY]).agg(
                users=("used", "sum"), uses=("uses", "sum"), raters=("rated", "sum"), rating_sum=("rating_sum", "sum"),
                rating_n=("rating_n", "sum"), demand=("demand", "sum"), unmet=("unmet", "sum"))
            full = pd.MultiIndex.from_product([unit_ids, categories], names=["unit", Columns.CATEGORY])
            blocks.append(summed.reindex(full, fill_value=0))
            names.append(persona)
        sizes = units[level].value_counts().reindex(unit_ids).to_numpy(dtype=np.int64)
        parent_of = _parents(units, level, parent)
        parent_ids = np.array([parent_of.get(u, "") for u in unit_ids], dtype=object)
        frames.append(suppress_usage(blocks, names, unit_ids, sizes, parent_ids, level, k))
    return pd.concat(frames, ignore_index=True)


def monthly_table(dataset: Dataset, tags: pd.DataFrame, units: pd.DataFrame, k: int) -> pd.DataFrame:
    """Residents active (any event) per unit and calendar month, in total and by persona.

    Returns
    -------
    pandas.DataFrame
        Columns ``level, unit_id, month`` (``YYYY-MM``), ``active``, ``persona_<name>``..., ``suppressed``.
    """
    events = dataset.interactions
    rows = tags.index.get_indexer(events[Columns.RESIDENT].to_numpy(dtype=object))
    known = rows >= 0
    months = pd.to_datetime(events[Columns.TIMESTAMP]).dt.strftime("%Y-%m").to_numpy(dtype=object)[known]
    active = pd.DataFrame({"row": rows[known], "month": months}).drop_duplicates()
    member = tags.to_numpy(dtype=np.int64)[active["row"].to_numpy()]
    persona_cols = [f"persona_{p}" for p in tags.columns]
    counts = pd.DataFrame(member, columns=persona_cols).assign(active=1, month=active["month"].to_numpy())
    frames = []
    for level, _, parent in LEVELS:
        counts["unit"] = units[level].to_numpy(dtype=object)[active["row"].to_numpy()]
        summed = counts.groupby(["unit", "month"])[["active", *persona_cols]].sum().reset_index()
        values = summed[["active", *persona_cols]].to_numpy(dtype=np.int64)
        frames.append(suppress_monthly(summed["unit"].to_numpy(dtype=object), summed["month"].to_numpy(dtype=object),
                                       values, ["active", *persona_cols], _parents(units, level, parent), level, k))
    return pd.concat(frames, ignore_index=True).sort_values(["level", "unit_id", "month"], ignore_index=True)


def suppress_monthly(unit: np.ndarray, month: np.ndarray, values: np.ndarray, columns: list[str],
                     parent_of: Mapping[Any, Any], level: str, k: int) -> pd.DataFrame:
    """One level's monthly rows (``unit``, ``month``, counts ``values`` named ``columns``), suppressed below k
    with the sibling rule among units of one parent in the same month."""
    groups = np.array([f"{parent_of.get(u, '')}|{m}" for u, m in zip(unit, month, strict=True)], dtype=object)
    hidden = suppression_mask(values, groups, [], k)
    out = pd.DataFrame({"level": level.removesuffix("_id"), "unit_id": pd.Series(unit, dtype=object).astype(str),
                        "month": pd.Series(month)})
    for j, col in enumerate(columns):
        out[col] = pd.Series(values[:, j], dtype=object).where(~hidden[:, j], None)
    out["suppressed"] = [tuple(c for j, c in enumerate(columns) if hidden[i, j]) for i in range(len(out))]
    return out


def _per_resident_category(dataset: Dataset, tags: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """One row per (resident row, category) with use, rating, demand and unmet-demand signals."""
    events = dataset.interactions
    rows = tags.index.get_indexer(events[Columns.RESIDENT].to_numpy(dtype=object))
    known = rows >= 0
    rows = rows[known]
    services = dataset.services.set_index(Columns.SERVICE)
    service = events[Columns.SERVICE].to_numpy(dtype=object)[known]
    kind = events[Columns.EVENT].astype(object).to_numpy()[known]
    rating = pd.to_numeric(events[Columns.RATING], errors="coerce").to_numpy(dtype=np.float64)[known]
    category = services[Columns.CATEGORY].astype(object).reindex(service).to_numpy()
    channel = (services[Columns.CHANNEL].astype(object).reindex(service).fillna("both").to_numpy()
               if Columns.CHANNEL in services else np.full(len(service), "both", dtype=object))
    home = units[Columns.COMMUNITY].to_numpy(dtype=object)[rows]
    offered = _offered_pairs(services)
    in_scope = np.array([(s, c) in offered or s not in offered["scoped"] for s, c in zip(service, home, strict=True)],
                        dtype=bool)  # typed: an empty history gives an empty array, not a float one
    residents = dataset.residents.set_index(Columns.RESIDENT)
    prefers = (residents[Columns.PREFERRED_CHANNEL].astype(object).reindex(tags.index).to_numpy()
               if Columns.PREFERRED_CHANNEL in residents else np.full(len(tags), None, dtype=object))
    offline_only = prefers[rows] == "offline"
    demand = np.isin(kind, DEMAND_EVENTS)
    rated = (kind == "rate") & ~np.isnan(rating)
    frame = pd.DataFrame({"row": rows, Columns.CATEGORY: category, "uses": (kind == "use").astype(np.int64),
                          "rated": rated, "rating_sum": np.where(rated, rating, 0.0),
                          "rating_n": rated.astype(np.int64), "demand": demand,
                          "unmet": demand & (~in_scope | ((channel == "online") & offline_only))})
    frame = frame[frame[Columns.CATEGORY].notna()]
    per = frame.groupby(["row", Columns.CATEGORY]).agg(
        uses=("uses", "sum"), rated=("rated", "any"), rating_sum=("rating_sum", "sum"), rating_n=("rating_n", "sum"),
        demand=("demand", "any"), unmet=("unmet", "any")).reset_index()
    per["used"] = per["uses"] > 0
    for col in ("used", "rated", "demand", "unmet"):
        per[col] = per[col].astype(np.int64)
    return per


def _offered_pairs(services: pd.DataFrame) -> dict:
    """``(service, community)`` pairs of scoped services, plus ``"scoped"``: the set of scoped service ids."""
    pairs: dict = {"scoped": set()}
    if Columns.COMMUNITY_SCOPE not in services:
        return pairs
    for service, scope in services[Columns.COMMUNITY_SCOPE].astype(object).items():
        if scope is None or pd.isna(scope) or not str(scope).strip():
            continue
        pairs["scoped"].add(service)
        for community in str(scope).split(LIST_SEPARATOR):
            pairs[(service, community.strip())] = True
    return pairs


def _parents(units: pd.DataFrame, level: str, parent: str | None) -> dict[object, object]:
    if parent is None:
        return {}
    return dict(zip(units[level].to_numpy(dtype=object), units[parent].to_numpy(dtype=object), strict=True))


def suppress_usage(blocks: list[pd.DataFrame], personas: list[str], unit_ids: np.ndarray, sizes: np.ndarray,
                   parent_ids: np.ndarray, level: str, k: int, withheld: tuple[str, ...] = ()) -> pd.DataFrame:
    """Suppress one level's usage cells with the reports' rules, then melt it into long rows.

    ``sizes`` are the units' residents (a unit below k is hidden whole), ``parent_ids`` their parents (the sibling
    rule); the columns named in ``withheld`` read ``None`` without counting as suppressed (differential privacy
    does not release them).
    """
    counted = list(USAGE_COUNTS)
    n_cat = len(Vocab.SERVICE_CATEGORIES)
    wide = [sizes[:, None]]
    for block in blocks:
        wide.append(block[counted].to_numpy(dtype=np.int64).reshape(len(unit_ids), n_cat * len(counted)))
    values = np.hstack(wide)
    hidden = suppression_mask(values, parent_ids, [], k)
    frames = []
    for b, (persona, block) in enumerate(zip(personas, blocks, strict=True)):
        start = 1 + b * n_cat * len(counted)
        gone = hidden[:, start:start + n_cat * len(counted)].reshape(len(unit_ids) * n_cat, len(counted))
        out = pd.DataFrame({"level": level.removesuffix("_id"), "unit_id": [str(u) for u, _ in block.index],
                            "persona": persona, "category": [c for _, c in block.index]})
        n = block["rating_n"].to_numpy(dtype=np.float64)
        mean = np.round(block["rating_sum"].to_numpy(dtype=np.float64) / np.maximum(n, 1), 2)
        cells = {"users": block["users"], "uses": block["uses"], "raters": block["raters"],
                 "mean_rating": pd.Series(np.where(n > 0, mean, np.nan)).astype(object).where(n > 0, None),
                 "demand": block["demand"], "unmet": block["unmet"]}
        mask = {measure: gone[:, m] for m, measure in enumerate(counted)}
        mask |= {extra: mask[measure] for measure, extras in USAGE_COUNTS.items() for extra in extras}
        for column, value in cells.items():
            out[column] = pd.Series(np.asarray(value, dtype=object)).where(~mask[column] & (column not in withheld),
                                                                             None)
        names = list(cells)
        out["suppressed"] = [tuple(c for c in names if mask[c][i] and c not in withheld)
                             for i in range(len(out))]
        frames.append(out)
    return pd.concat(frames, ignore_index=True)
