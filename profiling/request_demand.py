"""Residents' requests (居民诉求) on the planner page: what residents asked for in their own words, and what went
unmet.

Counted from the feedback store's ``requests`` table (``POST /requests``), so the figures are real requests, not
guesses from views and clicks. Two long tables over the three levels, suppressed by the rules of the segment reports
(:mod:`profiling.suppression`): every count below k reads as hidden, and where one cell of a row or of a set of
sibling units is hidden, the smallest other one is hidden too.

- :func:`request_demand_table`, per unit, persona (and ``"all"``) and category: **requests** (requests whose top
  understood category it is) and **unmet** (those of them that no service offered in the resident's community
  meets, or only online ones while the resident prefers offline; decided when the request was answered). A request
  without a known resident counts under ``"all"`` only.
- :func:`request_monthly_table`, per unit and calendar month: all requests, the unmet ones, each category's, and
  ``unmatched`` (nothing understood); categories and ``unmatched`` add up to ``requests``.

The requests' text is never read here: only ids, communities, times and categories.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.columns import Columns as C
from features.columns import Vocab
from profiling.suppression import suppression_mask

ALL = "all"
UNMATCHED = "unmatched"
#: The unit columns of a geography frame, lowest first, each with its parent.
_LEVELS = ((C.COMMUNITY, C.STREET), (C.STREET, C.DISTRICT), (C.DISTRICT, None))


def request_demand_table(requests: pd.DataFrame, tags: pd.DataFrame, geography: pd.DataFrame, k: int
                         ) -> pd.DataFrame:
    """Requests and unmet requests per unit, persona and category.

    Parameters
    ----------
    requests : pandas.DataFrame
        ``FeedbackStore.requests()`` (``resident_id``, ``community_id``, ``top_category``, ``unmet``).
    tags : pandas.DataFrame
        Boolean resident × persona frame indexed by resident id.
    geography : pandas.DataFrame
        One row per community: ``community_id``, ``street_id``, ``district_id``.
    k : int
        Suppression threshold.

    Returns
    -------
    pandas.DataFrame
        Columns ``level, unit_id, persona, category, requests, unmet, suppressed``; hidden cells are ``None``.
    """
    frame = _located(requests, geography)
    categories = list(Vocab.SERVICE_CATEGORIES)
    rows = tags.index.get_indexer(frame[C.RESIDENT].astype(object).to_numpy())
    member = np.zeros((len(frame), len(tags.columns)), dtype=bool)
    known = rows >= 0
    member[known] = tags.to_numpy(dtype=bool)[rows[known]]
    personas = [(ALL, np.ones(len(frame), dtype=bool))] + [(str(p), member[:, j]) for j, p in enumerate(tags.columns)]
    asked = np.stack([(frame["top_category"] == c).to_numpy(dtype=bool) for c in categories], axis=1) \
        if len(frame) else np.zeros((0, len(categories)), dtype=bool)
    unmet = asked & np.array([[c in set(u) for c in categories] for u in frame["unmet"]], dtype=bool).reshape(
        asked.shape)
    out = []
    for level, parent in _LEVELS:
        units = pd.unique(geography[level].astype(str))
        where = pd.Index(units).get_indexer(frame[level].to_numpy(dtype=object))
        blocks, names = [], []
        for persona, mask in personas:
            sel = mask & (where >= 0)
            signals = np.hstack([np.ones((int(sel.sum()), 1), dtype=np.int64), asked[sel], unmet[sel]])
            counts = np.stack([np.bincount(where[sel], weights=signals[:, j], minlength=len(units))
                               for j in range(signals.shape[1])], axis=1).astype(np.int64)
            blocks.append(counts)
            names.append(persona)
        values = np.vstack(blocks)
        parents = _parents(geography, level, parent, units)
        groups = np.array([f"{p}|{n}" for n in names for p in parents], dtype=object)
        hidden = suppression_mask(values, groups, list(range(1, 1 + len(categories))), k)
        for b, persona in enumerate(names):
            for u, unit in enumerate(units):
                r = b * len(units) + u
                for c, category in enumerate(categories):
                    cells = {"requests": (values[r, 1 + c], hidden[r, 1 + c]),
                             "unmet": (values[r, 1 + len(categories) + c], hidden[r, 1 + len(categories) + c])}
                    out.append({"level": level.removesuffix("_id"), "unit_id": str(unit), "persona": persona,
                                "category": category,
                                **{name: None if gone else int(v) for name, (v, gone) in cells.items()},
                                "suppressed": tuple(name for name, (_, gone) in cells.items() if gone)})
    columns = ["level", "unit_id", "persona", "category", "requests", "unmet", "suppressed"]
    # object columns: a count stays an int beside a suppressed None (a float column would answer 12.0)
    return pd.DataFrame({c: pd.Series([row[c] for row in out], dtype=object) for c in columns})


def request_monthly_table(requests: pd.DataFrame, geography: pd.DataFrame, k: int) -> pd.DataFrame:
    """Requests per unit and month: all, unmet, per category and unmatched (居民诉求 by month).

    Returns
    -------
    pandas.DataFrame
        Columns ``level, unit_id, month`` (``YYYY-MM``), ``requests``, ``unmet``, ``category_<name>``...,
        ``unmatched``, ``suppressed``.
    """
    frame = _located(requests, geography)
    categories = list(Vocab.SERVICE_CATEGORIES)
    columns = ["requests", "unmet", *[f"category_{c}" for c in categories], UNMATCHED]
    top = frame["top_category"].astype(object).where(frame["top_category"].notna(), None)
    counts = pd.DataFrame({"requests": 1, "unmet": [int(bool(u)) for u in frame["unmet"]],
                           **{f"category_{c}": (top == c).astype(np.int64) for c in categories},
                           UNMATCHED: (~top.isin(categories)).astype(np.int64),
                           "month": pd.to_datetime(frame["asked_at"]).dt.strftime("%Y-%m")}, index=frame.index)
    out = []
    for level, parent in _LEVELS:
        summed = counts.assign(unit=frame[level].astype(str)).groupby(["unit", "month"])[columns].sum().reset_index()
        values = summed[columns].to_numpy(dtype=np.int64)
        parent_of = dict(zip(geography[level].astype(str), geography[parent].astype(str), strict=True)) \
            if parent else {}
        groups = np.array([f"{parent_of.get(u, '')}|{m}" for u, m in zip(summed["unit"], summed["month"],
                                                                         strict=True)], dtype=object)
        hidden = suppression_mask(values, groups, list(range(2, len(columns))), k)
        table = pd.DataFrame({"level": level.removesuffix("_id"), "unit_id": summed["unit"], "month": summed["month"]})
        for j, name in enumerate(columns):
            table[name] = pd.Series(values[:, j], dtype=object).where(~hidden[:, j], None)
        table["suppressed"] = [tuple(c for j, c in enumerate(columns) if hidden[i, j]) for i in range(len(table))]
        out.append(table)
    if not out:
        return pd.DataFrame(columns=["level", "unit_id", "month", *columns, "suppressed"])
    return pd.concat(out, ignore_index=True).sort_values(["level", "unit_id", "month"], ignore_index=True)


def _located(requests: pd.DataFrame, geography: pd.DataFrame) -> pd.DataFrame:
    """Requests of known communities, with their street and district."""
    geo = geography[[C.COMMUNITY, C.STREET, C.DISTRICT]].astype(str).drop_duplicates(C.COMMUNITY)
    frame = requests[requests[C.COMMUNITY].notna()].assign(**{C.COMMUNITY: lambda f: f[C.COMMUNITY].astype(str)})
    return frame.merge(geo, on=C.COMMUNITY, how="inner")


def _parents(geography: pd.DataFrame, level: str, parent: str | None, units: np.ndarray) -> list[str]:
    if parent is None:
        return [""] * len(units)
    parent_of = dict(zip(geography[level].astype(str), geography[parent].astype(str), strict=True))
    return [parent_of.get(str(u), "") for u in units]


__all__ = ["ALL", "UNMATCHED", "request_demand_table", "request_monthly_table"]
